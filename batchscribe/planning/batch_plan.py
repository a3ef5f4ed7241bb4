"""``plan --engine batch``: what a batch run would do, counted without credentials.

The uploads needed (recordings not already at the service; their size, or the size of the WAV a
recording is converted to: an upper bound, since bytes already in the container are not sent
again), the jobs they make, their audio hours and cost, and what is already pending at the
service from earlier runs (read from the state, never changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchscribe.config.settings import RunSettings
from batchscribe.engines.batch.convert import upload_size
from batchscribe.engines.batch.settings import EMULATED_JOB_PREFIX
from batchscribe.outputs.layout import OutFolder
from batchscribe.planning.planner import Plan


def batch_plan(settings: RunSettings, planned: Plan) -> dict[str, Any]:
    """The batch numbers of a plan: uploads (GB, at most), jobs, audio hours, cost, and what is
    already pending at the service from earlier runs."""
    pending = _pending_at_service(settings)
    items = [i for i in planned.items if i.source not in pending]
    separate = settings.channels == "separate"
    upload_bytes = sum(
        upload_size(i.file.path, i.file.size, i.audio, channels_separate=separate) for i in items
    )
    seconds = sum(i.audio.duration_s for i in items)
    return {
        "uploads": len(items),
        "upload_gb": round(upload_bytes / 1e9, 3),
        "jobs": settings.batch.job_count(len(items)),
        "batch_audio_hours": round(seconds / 3600, 3),
        "batch_cost": round(seconds / 3600 * settings.price_per_hour, 2),
        "pending_at_service": len(pending),
    }


def batch_plan_line(row: Mapping[str, Any]) -> str:
    """``batch_plan``'s numbers as the plan's one line."""
    return (
        f"batch: {row['uploads']} upload(s) needed (at most {row['upload_gb']:.3f} GB), "
        f"{row['jobs']} job(s), "
        f"{row['batch_audio_hours']:.3f} audio hours, estimated cost {row['batch_cost']:.2f}; "
        f"{row['pending_at_service']} recording(s) already pending at the service"
    )


def _pending_at_service(settings: RunSettings) -> set[str]:
    """Sources waiting at the service, read without creating or changing anything; with
    ``--emulate``, not those of earlier emulated runs (gone with their emulator: sent again)."""
    import sqlite3

    path = OutFolder(settings.out).state_dir / "batch.sqlite"
    if not path.is_file():
        return set()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT source, job FROM members WHERE done=0").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return set()
    emulated = settings.endpoint.kind == "emulator"
    return {
        str(source) for source, job in rows if not (emulated and str(job).startswith(EMULATED_JOB_PREFIX))
    }
