"""``python -m sim`` is the ``streamsim`` command."""

from sim.cli import app

app(prog_name="streamsim")
