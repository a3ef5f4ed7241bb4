"""``doctor --engine batch`` and ``plan --engine batch``: what a batch run needs, checked or counted.

Doctor: the container (created if missing; a small blob written, read back, read again through
the URL the service would get, deleted) and the batch endpoint (one list call: it costs
nothing). Plan: the uploads needed (recordings not already at the service, their size: an upper
bound, since bytes already in the container are not sent again), the jobs they make, their audio
hours and cost; needs no credentials.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from batchscribe.config.settings import RunSettings
from batchscribe.doctor import Check
from batchscribe.errors import BatchscribeError
from batchscribe.outputs.layout import OutFolder
from batchscribe.planning.planner import Plan

PROBE = b"batchscribe doctor: a blob written, read and deleted again\n"


def batch_checks(
    settings: RunSettings, *, env: Mapping[str, str] | None = None, storage_credential: Any = None
) -> Iterator[Check]:
    """The container, then the batch endpoint; each a ``Check``, none raising."""
    yield _container_check(settings, env, storage_credential)
    yield _endpoint_check(settings)


def _container_check(settings: RunSettings, env: Mapping[str, str] | None, storage_credential: Any) -> Check:
    import os

    from batchscribe.engines.batch.storage import BlobStore

    if not settings.batch.storage:
        return Check("storage", False, "no --storage given", "--storage NAME or --storage CONTAINER_URL")
    name = f"batchscribe-doctor-{secrets.token_hex(4)}.txt"
    try:
        store = BlobStore.open(
            settings.batch.storage,
            access=settings.batch.storage_access,
            env=dict(env if env is not None else os.environ),
            credential=storage_credential,
        )
        blob = store.container.get_blob_client(name)
        blob.upload_blob(PROBE, overwrite=True)
        try:
            if blob.download_blob().readall() != PROBE:
                return Check("storage", False, "the container gave back other bytes than were written")
            how = "read through a plain URL (trusted)"
            if settings.batch.storage_access == "sas":
                response = httpx.get(store.url(name), timeout=30)
                if response.content != PROBE:
                    return Check(
                        "storage",
                        False,
                        f"a SAS URL of the container does not read ({response.status_code})",
                        "check the account key or the Entra ID role that signs user-delegation SAS",
                    )
                how = "read through a SAS URL"
        finally:
            store.delete(name)
    except BatchscribeError as exc:
        return Check("storage", False, exc.message, exc.hint)
    except Exception as exc:  # the storage client's own errors, in one line
        return Check("storage", False, f"the container cannot be used: {type(exc).__name__}")
    return Check(
        "storage", True, f"container {settings.batch.public_dict()['storage']}: written, read, {how}, deleted"
    )


def _endpoint_check(settings: RunSettings) -> Check:
    from batchscribe.engines.batch import base_url
    from batchscribe.engines.batch.client import BatchClient

    try:
        url = base_url(settings.endpoint)
        client = BatchClient(url, {"Ocp-Apim-Subscription-Key": settings.endpoint.key}, retries=1)
        try:
            client.call("GET", "/transcriptions?top=1")
        finally:
            client.close()
    except BatchscribeError as exc:
        return Check("batch endpoint", False, exc.message, exc.hint)
    return Check(
        "batch endpoint", True, f"{settings.endpoint.describe()}: batch transcription answers (a list call)"
    )


def batch_plan(settings: RunSettings, planned: Plan) -> dict[str, Any]:
    """The batch numbers of a plan: uploads (GB, at most), jobs, audio hours, cost, and what is
    already pending at the service from earlier runs."""
    pending = _pending_at_service(settings)
    items = [i for i in planned.items if i.source not in pending]
    upload_bytes = sum(i.file.size for i in items)
    seconds = sum(i.audio.duration_s for i in items)
    return {
        "uploads": len(items),
        "upload_gb": round(upload_bytes / 1e9, 3),
        "jobs": math.ceil(len(items) / settings.batch.batch_size) if items else 0,
        "batch_audio_hours": round(seconds / 3600, 3),
        "batch_cost": round(seconds / 3600 * settings.price_per_hour, 2),
        "pending_at_service": len(pending),
    }


def batch_plan_line(row: Mapping[str, Any]) -> str:
    return (
        f"batch: {row['uploads']} upload(s) needed (at most {row['upload_gb']:.3f} GB), "
        f"{row['jobs']} job(s), "
        f"{row['batch_audio_hours']:.3f} audio hours, estimated cost {row['batch_cost']:.2f}; "
        f"{row['pending_at_service']} recording(s) already pending at the service"
    )


def _pending_at_service(settings: RunSettings) -> set[str]:
    """Sources waiting at the service, read without creating or changing anything."""
    import sqlite3

    path = OutFolder(settings.out).state_dir / "batch.sqlite"
    if not path.is_file():
        return set()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {str(r[0]) for r in db.execute("SELECT source FROM members WHERE done=0")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()
