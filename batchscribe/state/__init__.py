"""What survives a run: the ``ledger`` (what was done with which content and settings, the run
lock) and the ``chunk_store`` (finished chunks of long recordings, so a killed run pays for none
twice). Both live under ``OUT/_state/``.
"""
