"""A batch job's uploads (``--engine batch``): each recording hashed and named, the names
recorded as intents in the job store before anything is sent, then uploaded in parallel with
progress told to whoever watches (``upload_progress``); and, on the next run, the uploads a kill
left between upload and ``reserve`` removed (``remove_orphans``).

Without the intents, a run killed after its uploads and before the job was recorded would leave
blobs nothing names: they would stay in the container until the same bytes were uploaded again,
maybe never (the recording removed). Only names an intent holds are ever removed: batchscribe
never touches a blob it did not create.

Each name is ``<folder id>/<content name>`` (``upload_name``): the output folder's own place in
the container. Output folders sharing a container (several machines, the jobs of a jobs file)
each upload their own copy of the same bytes, so one folder's cleanup never removes a blob
another folder's job is still waiting to read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from batchscribe.audio import sha256_of
from batchscribe.engines.jobs import JobEngine
from batchscribe.errors import AudioError, FatalEngineError, FileError, TransientEngineError
from batchscribe.planning.planner import WorkItem
from batchscribe.running.events import RunEvents
from batchscribe.running.upload_progress import UploadProgress
from batchscribe.state.job_store import JobStore, Member

log = logging.getLogger(__name__)
UPLOAD_THREADS = 8

Named = tuple[str, str] | FileError  # (sha256, upload name), or why the recording cannot go


def upload_job(
    name: str,
    items: Sequence[WorkItem],
    *,
    engine: JobEngine,
    store: JobStore,
    run_id: str,
    sink: RunEvents,
    settings_hash: str,
    clock: Callable[[], float],
) -> tuple[list[Member], list[tuple[WorkItem, FileError]]]:
    """Upload one job's recordings; the members to reserve (in job order) and the recordings
    that failed before reaching the job. The intents of the failed ones are dropped; those of
    the members are dropped by ``JobStore.reserve``."""
    progress = UploadProgress(name, [item.file.size for item in items], sink, clock=clock)
    progress.start()
    folder = store.folder_id()
    with ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="batchscribe-upload") as pool:
        named = list(pool.map(lambda item: _name(engine, item, folder), items))
        intended = sorted({n[1] for n in named if not isinstance(n, FileError)})
        if intended:
            store.intend(run_id, intended)
        sent = list(pool.map(lambda i: _upload(engine, items[i], named[i], progress, i), range(len(items))))
    members: list[Member] = []
    failures: list[tuple[WorkItem, FileError]] = []
    for item, result in zip(items, sent, strict=True):
        if isinstance(result, FileError):
            failures.append((item, result))
            continue
        sha256, upload = result
        members.append(
            Member(
                item.source,
                item.file.path,
                len(members),
                upload,
                sha256,
                item.file.size,
                item.file.mtime_ns,
                settings_hash,
                asdict(item.audio),
            )
        )
    unused = set(intended) - {m.upload for m in members}
    if unused:
        store.forget_intents(run_id, sorted(unused))
    return members, failures


def upload_name(folder_id: str, content_name: str) -> str:
    """An upload's name in the container: under its output folder's id (``JobStore.folder_id``)."""
    return f"{folder_id}/{content_name}"


def _name(engine: JobEngine, item: WorkItem, folder: str) -> Named:
    try:
        sha256 = sha256_of(item.file.path)
        return sha256, upload_name(folder, engine.content_name(item.file.path, sha256, item.audio))
    except FileError as exc:
        return exc
    except OSError as exc:  # gone or unreadable since it was planned
        return AudioError(f"cannot read it: {exc.strerror or exc}", code="unreadable")


def _upload(engine: JobEngine, item: WorkItem, named: Named, progress: UploadProgress, index: int) -> Named:
    try:
        if isinstance(named, FileError):
            return named
        engine.upload(item.file.path, named[1], item.audio, progress.file_hook(index), sha256=named[0])
        return named
    except FatalEngineError:
        raise
    except FileError as exc:
        return exc
    except OSError as exc:  # gone or unreadable since it was planned
        return AudioError(f"cannot read it: {exc.strerror or exc}", code="unreadable")
    finally:
        progress.finished(index)


def remove_orphans(store: JobStore, engine: JobEngine, *, run_id: str, keep: bool) -> int:
    """Uploads earlier runs meant for jobs they never recorded (killed between upload and
    reserve): removed unless a job of the store names them, or ``keep`` (``--keep-uploads``:
    the intent is dropped, the upload kept). How many were removed."""
    removed = 0
    for upload, run in store.intents():
        if run == run_id:  # this run's own: reserved or forgotten as it goes
            continue
        if not keep and not store.upload_named(upload):
            try:
                engine.remove_upload(upload)
            except TransientEngineError as exc:  # kept, and tried again by the next run
                log.warning("cannot remove the unused upload %s yet: %s", upload, exc.one_line())
                continue
            removed += 1
            log.info("removed the upload %s: run %s stopped before it recorded its job", upload, run)
        store.forget_intents(run, [upload])
    return removed
