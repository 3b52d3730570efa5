"""Declarative pipelines (``pipelines/*.yaml``): which mines, imagery, periods, classifier, impact
and flag parameters, and which reports to write. ``geomon run PIPELINE [--mine ID]`` runs one."""

from geomon.pipeline.run import PipelineOutputs, report_options, run_pipeline, select_mines
from geomon.pipeline.spec import Pipeline, bundled_pipeline, load_pipeline, parse_pipeline

__all__ = [
    "Pipeline",
    "PipelineOutputs",
    "bundled_pipeline",
    "load_pipeline",
    "parse_pipeline",
    "report_options",
    "run_pipeline",
    "select_mines",
]
