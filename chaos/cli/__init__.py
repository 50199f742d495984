"""The command line: the only package that knows typer; one module per command group."""
