"""The emulator's batch transcription API (``/speechtotext/transcriptions``, api-version 2025-10-15).

Routes: ``POST transcriptions:submit`` (201 with ``self`` and ``Location``), ``GET
transcriptions/{id}``, ``GET transcriptions`` (paged: ``skip``/``top``, ``@nextLink``),
``DELETE transcriptions/{id}`` (204), ``GET transcriptions/{id}/files`` (paged), and each file's
content behind its ``links.contentUrl``. A job is taken from the queue at the status read that
uses up its ``not_started_reads`` (at the first read without), as the service starts a job some
time after it was submitted; then its content URLs are fetched and answered on a thread of its
own (``batch_work``) and it says Running until they are. Its result files are
``contenturl_N.json`` (N: the URL's index) and ``report.json``.

``BatchFaults`` breaks it on purpose (tests set them on ``BatchService.faults``): answers 429
with ``Retry-After``, jobs kept NotStarted for a number of status reads, jobs that fail with a
code, recordings that fail (by a piece of their URL), jobs lost (404 once submitted), content
links that have expired (403) when first fetched.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from batchscribe.emulator.batch_work import FileOutcome, transcribe_url
from batchscribe.emulator.rest import RestRequest, RestResponse, Route
from batchscribe.emulator.scripts import Transcripts

BASE = "/speechtotext"
MAX_URLS = 1000
_ID = r"(?P<id>[0-9a-f-]{36})"


@dataclass
class BatchFaults:
    throttle: int = 0  # answer this many requests with 429 first
    retry_after_s: int = 0  # the 429s' Retry-After
    not_started_reads: int = 0  # status reads a job stays NotStarted
    fail_jobs: int = 0  # this many jobs fail
    fail_code: str = "InvalidData"
    fail_message: str = "The recordings URI contains invalid data."
    fail_sources: tuple[str, ...] = ()  # a recording whose URL contains one of these fails
    lose_jobs: int = 0  # this many jobs are lost (404) once submitted
    expire_links: int = 0  # this many content downloads answer 403 (an expired SAS)


@dataclass
class _Job:
    id: str
    name: str
    locale: str
    urls: list[str]
    properties: dict[str, Any]
    created: str
    status: str = "NotStarted"
    reads_left: int = 0
    fail: tuple[str, str] | None = None
    working: bool = False  # its recordings are being fetched and answered
    outcomes: list[FileOutcome] = field(default_factory=list)


class BatchService:
    """The jobs of one emulator and the routes serving them; thread-safe."""

    def __init__(self, transcripts: Transcripts, *, page_size: int = 100) -> None:
        self.transcripts = transcripts
        self.faults = BatchFaults()
        self.page_size = page_size
        self.submitted = 0  # jobs accepted, for tests and benchmarks
        self.content_urls: list[str] = []  # every URL a job was given (tests: how storage signed it)
        self._jobs: dict[str, _Job] = {}
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        t = f"{BASE}/transcriptions"
        return [
            Route("POST", rf"{t}:submit", self._guarded(self._submit)),
            Route("GET", rf"{t}", self._guarded(self._list)),
            Route("GET", rf"{t}/{_ID}", self._guarded(self._get)),
            Route("DELETE", rf"{t}/{_ID}", self._guarded(self._delete)),
            Route("GET", rf"{t}/{_ID}/files", self._guarded(self._files)),
            Route("GET", rf"{t}/{_ID}/files/(?P<file>[0-9]+)/content", self._content, public=True),
        ]

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: RestRequest) -> RestResponse:
            with self._lock:
                if self.faults.throttle > 0:
                    self.faults.throttle -= 1
                    return RestResponse.error(
                        429,
                        "TooManyRequests",
                        "Rate limit is exceeded.",
                        {"Retry-After": str(self.faults.retry_after_s)},
                    )
            answer: RestResponse = handler(request)
            return answer

        return guarded

    def _submit(self, request: RestRequest) -> RestResponse:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("contentUrls"), list):
            return RestResponse.error(400, "InvalidRequest", "contentUrls is required")
        urls = [str(u) for u in body["contentUrls"]]
        if not urls or len(urls) > MAX_URLS:
            return RestResponse.error(400, "InvalidRequest", f"between 1 and {MAX_URLS} contentUrls")
        properties = body.get("properties") or {}
        if not isinstance(properties, dict) or "timeToLiveHours" not in properties:
            return RestResponse.error(400, "InvalidRequest", "properties.timeToLiveHours is required")
        job = _Job(
            id=str(uuid.uuid4()),
            name=str(body.get("displayName", "")),
            locale=str(body.get("locale", "")),
            urls=urls,
            properties=properties,
            created=_now(),
        )
        with self._lock:
            self.submitted += 1
            self.content_urls.extend(urls)
            job.reads_left = self.faults.not_started_reads
            if self.faults.fail_jobs > 0:
                self.faults.fail_jobs -= 1
                job.fail = (self.faults.fail_code, self.faults.fail_message)
            lost = self.faults.lose_jobs > 0
            self.faults.lose_jobs -= lost
            if not lost:
                self._jobs[job.id] = job
        return RestResponse.of_json(
            201, self._view(job, request.base_url), {"Location": self._self(job, request.base_url)}
        )

    def _start(self, job: _Job) -> None:
        """Fetch and answer the job's recordings on a thread of its own (once; lock held)."""
        if job.working:
            return
        job.working = True
        worker = threading.Thread(
            target=self._work, args=(job,), name="batchscribe-emulator-job", daemon=True
        )
        self._workers.append(worker)
        worker.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every job taken from the queue has been worked on (tests: "the night passed")."""
        deadline = time.monotonic() + timeout
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(w.is_alive() for w in workers)

    def _work(self, job: _Job) -> None:
        failing = self.faults.fail_sources
        outcomes = []
        for url in job.urls:
            if any(piece in url for piece in failing):
                outcomes.append(
                    FileOutcome(url, error_kind="InvalidData", error_message="invalid audio data")
                )
            else:
                channels = _channels(job.properties)
                outcomes.append(transcribe_url(url, self.transcripts, locale=job.locale, channels=channels))
        with self._lock:
            job.outcomes = outcomes

    def _job(self, request: RestRequest) -> _Job | None:
        with self._lock:
            return self._jobs.get(request.params["id"])

    def _get(self, request: RestRequest) -> RestResponse:
        job = self._job(request)
        if job is None:
            return RestResponse.error(404, "NotFound", "no such transcription")
        self._advance(job)
        return RestResponse.of_json(200, self._view(job, request.base_url))

    def _advance(self, job: _Job) -> None:
        with self._lock:
            if job.status in ("Succeeded", "Failed"):
                return
            if job.reads_left > 0:
                job.reads_left -= 1
                if job.reads_left == 0:
                    self._start(job)  # taken from the queue: it says so at the next read
                return
            self._start(job)
            if job.fail is not None:
                job.status = "Failed"
            elif len(job.outcomes) == len(job.urls):
                job.status = "Succeeded"
            else:
                job.status = "Running"

    def _list(self, request: RestRequest) -> RestResponse:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self._advance(job)
        return self._page(request, [self._view(j, request.base_url) for j in jobs])

    def _page(self, request: RestRequest, values: list[dict[str, Any]]) -> RestResponse:
        skip, top = int(request.query.get("skip", 0)), int(request.query.get("top", self.page_size))
        page: dict[str, Any] = {"values": values[skip : skip + top]}
        if skip + top < len(values):
            query = "&".join(f"{k}={v}" for k, v in request.query.items() if k not in ("skip", "top"))
            page["@nextLink"] = f"{request.base_url}{request.path}?{query}&skip={skip + top}&top={top}"
        return RestResponse.of_json(200, page)

    def _delete(self, request: RestRequest) -> RestResponse:
        with self._lock:
            self._jobs.pop(request.params["id"], None)
        return RestResponse(204)

    def _files(self, request: RestRequest) -> RestResponse:
        job = self._job(request)
        if job is None:
            return RestResponse.error(404, "NotFound", "no such transcription")
        if job.status != "Succeeded":
            return self._page(request, [])
        base = self._self(job, request.base_url)
        files = [
            {
                "self": f"{base}/files/{i}",
                "name": f"contenturl_{i}.json",
                "kind": "Transcription",
                "links": {"contentUrl": f"{base}/files/{i}/content"},
            }
            for i, outcome in enumerate(job.outcomes)
            if outcome.document is not None
        ]
        report = len(job.urls)
        files.append(
            {
                "self": f"{base}/files/{report}",
                "name": "report.json",
                "kind": "TranscriptionReport",
                "links": {"contentUrl": f"{base}/files/{report}/content"},
            }
        )
        return self._page(request, files)

    def _content(self, request: RestRequest) -> RestResponse:
        job = self._job(request)
        index = int(request.params["file"])
        if job is None or job.status != "Succeeded" or index > len(job.urls):
            return RestResponse.error(404, "BlobNotFound", "The specified blob does not exist.")
        with self._lock:
            if self.faults.expire_links > 0:
                self.faults.expire_links -= 1
                return RestResponse.error(403, "AuthenticationFailed", "Signed expiry time has passed")
        if index == len(job.urls):
            return RestResponse.of_json(200, _report(job.outcomes))
        document = job.outcomes[index].document
        if document is None:
            return RestResponse.error(404, "BlobNotFound", "The specified blob does not exist.")
        return RestResponse.of_json(200, document)

    def _self(self, job: _Job, base_url: str) -> str:
        return f"{base_url}{BASE}/transcriptions/{job.id}"

    def _view(self, job: _Job, base_url: str) -> dict[str, Any]:
        view: dict[str, Any] = {
            "self": self._self(job, base_url),
            "displayName": job.name,
            "locale": job.locale,
            "createdDateTime": job.created,
            "lastActionDateTime": _now(),
            "status": job.status,
            "properties": dict(job.properties),
            "links": {"files": f"{self._self(job, base_url)}/files"},
        }
        if job.status == "Failed" and job.fail is not None:
            view["properties"]["error"] = {"code": job.fail[0], "message": job.fail[1]}
        return view


def _report(outcomes: list[FileOutcome]) -> dict[str, Any]:
    details = []
    for outcome in outcomes:
        detail: dict[str, Any] = {
            "source": outcome.source,
            "status": "Succeeded" if outcome.document else "Failed",
        }
        if outcome.document is None:
            detail |= {"errorKind": outcome.error_kind, "errorMessage": outcome.error_message}
        details.append(detail)
    failed = sum(1 for o in outcomes if o.document is None)
    return {
        "successfulTranscriptionsCount": len(outcomes) - failed,
        "failedTranscriptionsCount": failed,
        "details": details,
    }


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _channels(properties: dict[str, Any]) -> tuple[int, ...]:
    """The channels a job asks for (``properties.channels``; the service's default: 0 and 1)."""
    asked = properties.get("channels", [0, 1])
    if not isinstance(asked, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in asked):
        return (0,)
    return tuple(asked) or (0,)
