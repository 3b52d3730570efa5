"""``geomon run PIPELINE [--mine ID]``: run a pipeline file (pipelines/*.yaml)."""

from __future__ import annotations

from pathlib import Path

import click

from geomon.cli.options import scheduler_option


@click.command("run")
@click.argument("pipeline_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mine", "mine", default=None, help="Run only this mine (a registry id).")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: the pipeline's outputs.dir).",
)
@click.option("--check", is_flag=True, help="Validate the file and list the mines; run nothing.")
@scheduler_option
def run(
    pipeline_file: Path, mine: str | None, out: Path | None, check: bool, scheduler: str | None
) -> None:
    """Run PIPELINE_FILE: every selected mine through the stages, then its reports."""
    from geomon.pipeline import load_pipeline, run_pipeline, select_mines
    from geomon.registry import load_registry
    from geomon.scheduler import dask_client

    pipeline = load_pipeline(pipeline_file)
    if check:
        ids = select_mines(pipeline, load_registry(pipeline.registry), mine)
        click.echo(f"{pipeline_file}: valid; {len(ids)} mine(s): {', '.join(ids)}")
        return
    with dask_client(scheduler):
        outputs = run_pipeline(pipeline, mine, str(pipeline_file), out, echo=click.echo)
    folder = out or Path(pipeline.outputs.dir)
    click.echo(
        f"done: {len(outputs.sites)} site report(s), {len(outputs.companies)} company report(s) in {folder}"
    )
