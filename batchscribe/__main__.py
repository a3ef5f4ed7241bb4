"""``python -m batchscribe`` runs the command-line interface."""

from batchscribe.cli import main

main()
