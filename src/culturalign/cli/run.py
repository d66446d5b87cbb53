"""`culturalign run`, `culturalign runs` and `culturalign translations ...`."""

import typer

translations_app = typer.Typer(no_args_is_help=True)


def register(app: typer.Typer) -> None:
    pass
