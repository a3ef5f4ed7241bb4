"""Azure OpenAI chat completions on the emulator's REST side, so summaries are tested offline.

Routes: ``POST /openai/v1/chat/completions`` (the v1 API, deployment in ``model``) and
``POST /openai/deployments/{deployment}/chat/completions`` (the classic API, ``?api-version=``).
The answer is deterministic and built from the last user message (the transcript): a JSON object
with ``summary`` (its first sentence, with the topics), ``action_items`` (its sentences saying
someone will, must or should do something) and ``topics`` (its most frequent longer words), and
``usage`` counting about four characters a token, as batchscribe estimates.

``OpenAiFaults`` break it (``--openai-fault`` on ``batchscribe emulator``, ``openai_faults=`` of
``Emulator``), each ``KIND[:first=N][:match=TEXT][:retry_after=SECONDS]``:

    429             HTTP 429 with ``retry-after-ms`` and ``retry-after`` (default 0.05 s)
    500             HTTP 500
    content_filter  HTTP 400, code ``content_filter``
    invalid_json    HTTP 200 whose message content is not JSON
    stall           answer only after ``seconds=S`` (default 5): a client timeout

``first=N``: only the first N chat requests the emulator sees (default: every one); ``match=TEXT``:
only requests whose messages contain TEXT. A request longer than ``context_tokens`` (when set) gets
HTTP 400 ``context_length_exceeded``, as a deployment does.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

from batchscribe.emulator.rest import RestRequest, RestResponse, Route
from batchscribe.errors import UsageError

CHARS_PER_TOKEN = 4
KINDS = ("429", "500", "content_filter", "invalid_json", "stall")
_ACTION = re.compile(r"\b(will|must|should|need to|needs to|please|follow up|promised?)\b", re.IGNORECASE)
_STOP = frozenset(
    [
        "about",
        "after",
        "again",
        "also",
        "because",
        "been",
        "before",
        "being",
        "could",
        "does",
        "doing",
        "from",
        "have",
        "having",
        "here",
        "into",
        "just",
        "like",
        "more",
        "much",
        "only",
        "other",
        "over",
        "part",
        "parts",
        "really",
        "same",
        "some",
        "speaker",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "transcript",
        "very",
        "want",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "summaries",
        "summary",
        "recording",
        "consecutive",
    ]
)


@dataclass
class OpenAiFault:
    kind: str
    first: int | None = None
    match: str = ""
    retry_after: float = 0.05
    seconds: float = 5.0

    def applies(self, number: int, text: str) -> bool:
        return (self.first is None or number <= self.first) and (not self.match or self.match in text)


def parse_fault(spec: str) -> OpenAiFault:
    """One ``--openai-fault`` spec; a bad one is a ``UsageError`` naming it."""
    kind, *options = spec.split(":")
    if kind not in KINDS:
        raise UsageError(f"--openai-fault {spec!r}: unknown kind {kind!r}", hint=f"one of {', '.join(KINDS)}")
    fault = OpenAiFault(kind)
    for option in options:
        name, _, value = option.partition("=")
        try:
            if name == "first":
                fault.first = int(value)
            elif name == "match" and value:
                fault.match = value
            elif name in ("retry_after", "seconds"):
                setattr(fault, name, float(value))
            else:
                raise ValueError(name)
        except ValueError:
            raise UsageError(
                f"--openai-fault {spec!r}: bad option {option!r}",
                hint="options are first=N, match=TEXT, retry_after=S, seconds=S",
            ) from None
    return fault


@dataclass
class OpenAiEmulation:
    """What the chat route does: its faults and context size; counts what it answered."""

    faults: Sequence[OpenAiFault] = ()
    context_tokens: int | None = None
    requests: Counter[str] = field(default_factory=Counter)  # by outcome: ok, 429, content_filter, ...
    deployments: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _seen: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def of(
        cls, faults: Iterable[OpenAiFault | str] = (), context_tokens: int | None = None
    ) -> OpenAiEmulation:
        parsed = [f if isinstance(f, OpenAiFault) else parse_fault(f) for f in faults]
        return cls(parsed, context_tokens)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` chat requests arrived (answered or not); False after ``timeout``."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._seen >= count, timeout)

    def close(self) -> None:
        self._stop.set()  # a stalled answer returns at once

    def answer(self, request: RestRequest, deployment: str) -> RestResponse:
        try:
            body = request.json()
            chat = body["messages"] if isinstance(body, dict) else None
            texts = [str(m.get("content", "")) for m in chat or () if isinstance(m, dict)]
        except (ValueError, KeyError, TypeError):
            return _error(HTTPStatus.BAD_REQUEST, "invalid_request_error", "the body is not a chat request")
        if not texts:
            return _error(HTTPStatus.BAD_REQUEST, "invalid_request_error", "messages is required")
        whole = "\n".join(texts)
        with self._arrived:
            self._seen += 1
            number = self._seen
            self.deployments[deployment] += 1
            self._arrived.notify_all()
        fault = next((f for f in self.faults if f.applies(number, whole)), None)
        prompt_tokens = math.ceil(len(whole) / CHARS_PER_TOKEN)
        if self.context_tokens is not None and prompt_tokens > self.context_tokens:
            return self._count("context_length_exceeded", _error(
                HTTPStatus.BAD_REQUEST, "context_length_exceeded",
                f"This model's maximum context length is {self.context_tokens} tokens. However, your "
                f"messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages.",
            ))  # fmt: skip
        if fault is not None:
            refused = self._fault(fault)
            if refused is not None:
                return self._count(fault.kind, refused)
        broken = fault is not None and fault.kind == "invalid_json"
        content = "this is not JSON" if broken else answer_for(texts[-1])
        completion_tokens = math.ceil(len(content) / CHARS_PER_TOKEN)
        return self._count("invalid_json" if broken else "ok", RestResponse.of_json(200, {
            "id": f"chatcmpl-emulator-{number}", "object": "chat.completion", "created": 0,
            "model": f"emulated-{deployment}",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }))  # fmt: skip

    def _fault(self, fault: OpenAiFault) -> RestResponse | None:
        if fault.kind == "429":
            wait = fault.retry_after
            headers = {"retry-after-ms": str(round(wait * 1000)), "retry-after": str(math.ceil(wait))}
            message = f"Rate limit is exceeded. Try again in {math.ceil(wait)} seconds."
            return _error(HTTPStatus.TOO_MANY_REQUESTS, "429", message, headers)
        if fault.kind == "500":
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalServerError", "The server had an error.")
        if fault.kind == "content_filter":
            return _error(HTTPStatus.BAD_REQUEST, "content_filter",
                          "The response was filtered due to the prompt triggering Azure OpenAI's content "
                          "management policy.")  # fmt: skip
        if fault.kind == "stall":
            self._stop.wait(fault.seconds)
        return None

    def _count(self, outcome: str, response: RestResponse) -> RestResponse:
        with self._lock:
            self.requests[outcome] += 1
        return response


def answer_for(text: str) -> str:
    """The deterministic answer to a transcript (or to the summaries of its parts)."""
    body = text.split("\n\n", 1)[-1]  # after the "The transcript:" line
    lines = [re.sub(r"\b(Speaker|Channel) \d+: ", "", line).strip() for line in body.splitlines()]
    sentences = [s.strip() for line in lines for s in re.split(r"(?<=[.!?])\s+", line) if s.strip()]
    if body.lstrip().startswith("{"):  # the parts' summaries: combine what they said
        parts = [json.loads(line) for line in body.splitlines() if line.strip().startswith("{")]
        sentences = [str(p.get("summary", "")) for p in parts]
        items = [str(i) for p in parts for i in p.get("action_items", [])]
        words = [str(t) for p in parts for t in p.get("topics", [])]
    else:
        items = [s for s in sentences if _ACTION.search(s)][:5]
        words = re.findall(r"[^\W\d_]{5,}", body.lower())
    topics = [w for w, _ in sorted(Counter(w for w in words if w not in _STOP).items(),
                                   key=lambda kv: (-kv[1], kv[0]))[:3]]  # fmt: skip
    first = sentences[0] if sentences else "Nothing was said."
    summary = f"A conversation about {', '.join(topics) or 'nothing in particular'}: {first}"
    return json.dumps({"summary": summary, "action_items": items, "topics": topics})


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> RestResponse:
    """Azure OpenAI's error body: ``{"error": {"code", "message"}}``."""
    return RestResponse.of_json(status, {"error": {"code": code, "message": message, "status": int(status)}},
                                headers)  # fmt: skip


def routes(emulation: OpenAiEmulation) -> list[Route]:
    def v1(request: RestRequest) -> RestResponse:
        body = _json_or_none(request)
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str) or not model:
            return _error(HTTPStatus.BAD_REQUEST, "invalid_request_error", "model (the deployment) needed")
        return emulation.answer(request, model)

    def classic(request: RestRequest) -> RestResponse:
        if not request.query.get("api-version"):
            return _error(HTTPStatus.NOT_FOUND, "404", "Resource not found (api-version is missing)")
        return emulation.answer(request, request.params["deployment"])

    return [
        Route("POST", r"/openai/v1/chat/completions", v1),
        Route("POST", r"/openai/deployments/(?P<deployment>[^/]+)/chat/completions", classic),
    ]


def _json_or_none(request: RestRequest) -> object:
    try:
        return request.json()
    except ValueError:
        return None
