"""``python -m batchscribe.emulator``: the emulator's CLI (``cli/emulator.py``) on its own."""

from batchscribe.cli.emulator import emulator_app
from batchscribe.cli.exits import run_main

run_main(lambda: emulator_app(prog_name="batchscribe emulator"))
