"""The library core, in the order a run flows: ``discovery`` finds recordings, ``planner``
decides what each needs against the ``ledger`` (changing nothing), ``pool`` runs the work items
through an engine (``limiter``, ``retry``, ``cancel``), and ``batch.run_batch`` applies the plan,
ties it together and writes the report; ``doctor`` checks the set-up with the same engine factory.

``run_batch`` is the library entry point::

    from batchscribe.pipeline import run_batch

It is imported on first use, so that the engines can use ``pipeline.cancel`` and
``pipeline.retry`` without importing the whole pipeline (which imports the engines' protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchscribe.pipeline.batch import run_batch

__all__ = ["run_batch"]


def __getattr__(name: str) -> Any:
    if name == "run_batch":
        from batchscribe.pipeline.batch import run_batch

        return run_batch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
