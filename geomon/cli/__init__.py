"""The ``geomon`` command line: a thin layer over the library's facade functions.

Each topic registers its commands from its own module. Any :class:`GeomonError` becomes a one-line
``error: ...`` message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click

from geomon._version import __version__
from geomon.errors import GeomonError

__all__ = ["cli", "main"]


class _GeomonGroup(click.Group):
    """A click group that reports GeomonError as a one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GeomonError as exc:
            raise click.ClickException(
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            ) from exc


@click.group(cls=_GeomonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomon")
def cli() -> None:
    """geomon: watch critical-mineral mines from space."""


@cli.command()
def versions() -> None:
    """Print the versions of geomon and the libraries its numbers depend on."""
    from geomon.versions import format_versions

    click.echo(format_versions())


def _register() -> None:
    from geomon.cli import demo, registry

    cli.add_command(registry.registry)
    cli.add_command(demo.demo)
    cli.add_command(__import__("geomon.cli.imagery", fromlist=["imagery"]).imagery)
    cli.add_command(__import__("geomon.cli.impacts", fromlist=["impacts"]).impacts)
    cli.add_command(__import__("geomon.cli.report", fromlist=["report"]).report)
    cli.add_command(__import__("geomon.cli.run", fromlist=["run"]).run)
    list(map(cli.add_command, __import__("geomon.cli.classify", fromlist=["COMMANDS"]).COMMANDS))


_register()


class Terminated(BaseException):
    """SIGTERM (a scheduler's stop, ``kill``), raised in the main thread as Ctrl-C raises
    KeyboardInterrupt, so that the writers' clean-up runs and no partial output is left (the
    signal's default ends the process at once: a demo catalog's temporary folder stayed)."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated`, where the process still has
    the signal's default (an embedding program's own handler is kept) and this is its main
    thread (only that one may set a handler)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code."""
    try:
        with _sigterm_raises():
            cli.main(args=argv, prog_name="geomon", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except Terminated:
        click.echo("terminated (SIGTERM); partial outputs were removed", err=True)
        return 128 + signal.SIGTERM
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return 2 if not isinstance(exc, click.UsageError) else exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
