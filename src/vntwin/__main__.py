"""Allow ``python -m vntwin``."""

from vntwin.cli import app

app()
