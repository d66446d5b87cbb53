"""`culturalign` entry point. Commands only parse arguments and call library functions;
every user-fixable problem is a UserError, printed as one line with exit code 2."""

from __future__ import annotations

import sqlite3
import sys

import typer
from rich.console import Console
from rich.markup import escape

from culturalign import __version__
from culturalign.cli import analyze, batch, compare, groundtruth, judge, report, run, statements, vsm
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
app.add_typer(batch.app, name="batch", help="Batch files: export a model's requests, import its answers.")
app.add_typer(statements.app, name="statements", help="Debate-statement probe: labelling and quality control.")
run.register(app)
analyze.register(app)
report.register(app)
compare.register(app)

err_console = Console(stderr=True)
# The exceptions of the click that typer runs on: newer typer releases vendor their own copy.
try:
    from typer._click import exceptions as _click
except ImportError:  # typer on the installed click
    from click import exceptions as _click  # type: ignore[no-redef]
_ABORTS = tuple({typer.Abort, getattr(_click, "Abort", typer.Abort)})
_NoArgsIsHelp: type[Exception] = getattr(_click, "NoArgsIsHelpError", type("_Never", (Exception,), {}))


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False, prog_name="culturalign")
    except _NoArgsIsHelp as exc:
        exc.show()  # type: ignore[attr-defined]  # a command given nothing to do shows its help
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except _click.UsageError as exc:
        # A bad option or argument: one line naming it and where the help is, like every other bad input.
        command = exc.ctx.command_path if exc.ctx is not None else "culturalign"
        err_console.print(
            f"[bold red]error:[/] {escape(exc.format_message())} (see `{escape(command)} --help`)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(exc.exit_code)
    except _click.ClickException as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except _ABORTS:
        err_console.print("stopped. Every stored answer is kept: run the same command again to resume.")
        sys.exit(130)
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except sqlite3.DatabaseError as exc:
        from culturalign.store.schema import is_store_failure, store_failure_line

        if not is_store_failure(exc):
            raise
        err_console.print(f"[bold red]error:[/] {escape(store_failure_line(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:
        # A file system refusal the checks before the work did not foresee (a disk that filled
        # up, a folder removed meanwhile): still one line, not a traceback.
        where = f" {exc.filename}" if exc.filename else ""
        err_console.print(
            f"[bold red]error:[/] {escape(f'cannot use{where}: {exc.strerror or exc}')}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("stopped. Every stored answer is kept: run the same command again to resume.")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)  # as a console script does, success included


if __name__ == "__main__":
    main()
