"""What ``--summarize`` needs, decided before the run: ``SummaryOptions``, and how a spec and the
environment resolve to it (``resolve_summaries``, called by ``config.resolve``).

The endpoint comes from ``--openai-endpoint`` (``openai_endpoint:``) or ``AZURE_OPENAI_ENDPOINT``,
the deployment from ``--openai-deployment`` or ``AZURE_OPENAI_DEPLOYMENT``, the key only from
``AZURE_OPENAI_API_KEY`` (never a command-line value); without a key the run signs in with
Microsoft Entra ID, the same credential chain as Speech (``config/entra.py``). With ``--emulate``
and no endpoint, summaries go to the emulator's REST side (its URL is known once it runs).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from batchscribe.secrets import public_endpoint

if TYPE_CHECKING:
    from batchscribe.config.origin import Origin
    from batchscribe.config.schema import JobSpec

ENDPOINT_VARIABLE = "AZURE_OPENAI_ENDPOINT"
DEPLOYMENT_VARIABLE = "AZURE_OPENAI_DEPLOYMENT"
KEY_VARIABLE = "AZURE_OPENAI_API_KEY"
EMULATOR_DEPLOYMENT = "emulator"
PROMPT_RESOURCE = "prompt.md"
MAX_PROMPT_BYTES = 64_000  # instructions, not a document: sent again with every transcript


def shipped_prompt() -> str:
    """The prompt batchscribe ships (package data), used without ``--summary-prompt``."""
    return resources.files("batchscribe.summaries").joinpath(PROMPT_RESOURCE).read_text(encoding="utf-8")


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SummaryOptions:
    """Where summaries are made and what they cost. The key never appears in repr."""

    endpoint: str  # https://NAME.openai.azure.com (no path); "" until the emulator runs
    deployment: str
    prompt: str
    key: str = field(default="", repr=False)  # "" signs in with Entra ID
    price_per_1k_tokens: float = 0.0
    context_tokens: int = 128_000
    emulated: bool = False  # --emulate without an endpoint: the emulator's REST side
    timeout_s: float = 120.0  # one request, before it counts as a timeout and is retried
    retries: int = 3  # 429, 5xx and timeouts, per request

    @property
    def prompt_sha256(self) -> str:
        return prompt_hash(self.prompt)

    @property
    def entra(self) -> bool:
        return not self.key and not self.emulated

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.key,) if self.key and not self.emulated else ()

    def public_dict(self) -> dict[str, object]:
        """For the run's settings in reports: never the key, never the prompt's text."""
        return {
            "endpoint": public_endpoint(self.endpoint) if self.endpoint else "emulator",
            "deployment": self.deployment,
            "prompt_sha256": self.prompt_sha256,
            "price_per_1k_tokens": self.price_per_1k_tokens,
            "context_tokens": self.context_tokens,
            "sign_in": "key" if self.key else "emulator" if self.emulated else "entra",
        }


def resolve_summaries(
    spec: JobSpec, origin: Origin, env: Mapping[str, str], *, credentials: bool = True
) -> SummaryOptions | None:
    """``SummaryOptions`` when the spec asks for summaries (None otherwise); says what is missing."""
    if not spec.summarize:
        return None
    prompt = _prompt(spec, origin)
    endpoint = (spec.openai_endpoint or env.get(ENDPOINT_VARIABLE, "")).strip().rstrip("/")
    deployment = (spec.openai_deployment or env.get(DEPLOYMENT_VARIABLE, "")).strip()
    emulated = spec.emulate and not endpoint
    if not endpoint and not emulated:
        raise origin.error(
            "summarize",
            f"needs an Azure OpenAI endpoint: {ENDPOINT_VARIABLE} is not set",
            f"set {ENDPOINT_VARIABLE} (e.g. https://NAME.openai.azure.com) or give "
            f"{origin.example('openai_endpoint', 'https://NAME.openai.azure.com')}",
        )
    if endpoint and not endpoint.lower().startswith(("https://", "http://")):
        raise origin.error(
            "openai_endpoint", f"must be a URL starting with https://, got {endpoint[:40]!r}",
            f"e.g. {origin.example('openai_endpoint', 'https://NAME.openai.azure.com')}",
        )  # fmt: skip
    if not deployment:
        if not emulated:
            raise origin.error(
                "summarize",
                f"needs an Azure OpenAI deployment: {DEPLOYMENT_VARIABLE} is not set",
                f"set {DEPLOYMENT_VARIABLE} or give {origin.example('openai_deployment', 'gpt-4o-mini')}",
            )
        deployment = EMULATOR_DEPLOYMENT
    key = env.get(KEY_VARIABLE, "").strip() if credentials and not emulated else ""
    return SummaryOptions(
        endpoint=endpoint,
        deployment=deployment,
        prompt=prompt,
        key=key,
        price_per_1k_tokens=spec.price_per_1k_tokens,
        context_tokens=spec.openai_context_tokens,
        emulated=emulated,
        retries=spec.retries,
    )


def _read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file; a FIFO, device or folder is refused, never
    opened blocking (a FIFO with no writer, /dev/zero: the run would hang or fill memory)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, min(65_536, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _prompt(spec: JobSpec, origin: Origin) -> str:
    if spec.summary_prompt is None:
        return shipped_prompt()
    path: Path = origin.path("summary_prompt", spec.summary_prompt)
    fix = f"point {origin.spell('summary_prompt')} at a readable UTF-8 text file holding the instructions"
    try:
        data = _read_regular(path, MAX_PROMPT_BYTES + 1)
        if len(data) > MAX_PROMPT_BYTES:
            raise origin.error("summary_prompt", f"the prompt file {path} is over {MAX_PROMPT_BYTES:,} bytes "
                               "(it is sent with every transcript)", fix)  # fmt: skip
        text = data.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise origin.error("summary_prompt", f"cannot read the prompt file {path}: {reason}", fix) from exc
    if not text:
        raise origin.error("summary_prompt", f"the prompt file {path} is empty", fix)
    return text


__all__ = ["SummaryOptions", "resolve_summaries", "shipped_prompt"]
