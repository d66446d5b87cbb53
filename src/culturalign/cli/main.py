"""`culturalign` entry point. Commands only parse arguments and call library functions;
every user-fixable problem is a UserError, printed as one line with exit code 2."""

from __future__ import annotations

import sqlite3
import sys

import typer
from rich.console import Console
from rich.markup import escape

from culturalign import __version__
from culturalign.cli import analyze, groundtruth, judge, report, run, statements, vsm
from culturalign.errors import UserError

app = typer.Typer(
    name="culturalign",
    help="Measure how well language models reproduce the values of the people who use them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(groundtruth.app, name="groundtruth", help="Build, fetch and inspect survey ground truth.")
app.add_typer(judge.app, name="judge", help="Validate stance judges against hand labels.")
app.add_typer(
    run.translations_app, name="translations", help="Export and import translations (every probe) for review."
)
app.add_typer(vsm.app, name="vsm", help="Hofstede VSM 2013 probe: instrument and country scores.")
app.add_typer(statements.app, name="statements", help="Debate-statement probe: labelling and quality control.")
run.register(app)
analyze.register(app)
report.register(app)

err_console = Console(stderr=True)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except sqlite3.DatabaseError as exc:
        from culturalign.store.schema import is_store_failure, store_failure_line

        if not is_store_failure(exc):
            raise
        err_console.print(f"[bold red]error:[/] {escape(store_failure_line(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("stopped. Every stored answer is kept: run the same command again to resume.")
        sys.exit(130)


if __name__ == "__main__":
    main()
