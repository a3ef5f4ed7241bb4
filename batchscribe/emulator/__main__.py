"""``python -m batchscribe.emulator``: the emulator's CLI on its own."""

from batchscribe.emulator.cli import emulator_app

emulator_app(prog_name="batchscribe emulator")
