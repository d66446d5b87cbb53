"""The command line: thin typer commands over the same functions as the Python API."""
