"""``python -m streamsim`` is the ``streamsim`` command."""

from streamsim.cli import app

app(prog_name="streamsim")
