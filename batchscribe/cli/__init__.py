"""The command line: the typer app (``app``), its options, the run session and the live view.

``main`` is the console-script entry point (``batchscribe``) and what ``python -m batchscribe``
runs. No SDK import and no business logic in this package; it calls the library
(``running.run``, ``planning``, ``doctor``, ``report``).
"""

from batchscribe.cli.app import app, main

__all__ = ["app", "main"]
