"""One Speech resource as the user gives it: where it is, how it signs in, how many sessions.

``--region``, ``--endpoint`` and ``--host`` given several times, or a jobs file's ``resources:``
list, each become a ``Resource``. It holds the *name* of the environment variable with the key,
never the key (``key(env)`` reads it when the run needs it), or says the resource signs in with
Microsoft Entra ID (see ``config/entra.py``), or with nothing (a container). Invalid
combinations are refused with one line that names the resource and the fix.
``resources/rotation.py`` spreads sessions over several of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from batchscribe.errors import UsageError
from batchscribe.secrets import key_problem, looks_like_key, public_endpoint

ResourceKind = Literal["region", "endpoint", "host"]
Authentication = Literal["key", "entra", "none"]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGION = re.compile(r"[a-z][a-z0-9]*")
_SCHEMES = ("wss://", "ws://", "https://", "http://")


@dataclass(frozen=True)
class Resource:
    """One Speech resource; its key never lives here, only the name of the variable holding it."""

    kind: ResourceKind
    location: str  # the region name, or the endpoint's or host's URL
    key_variable: str = ""  # signs in with the key in this environment variable
    entra: bool = False  # signs in with a Microsoft Entra ID token instead
    resource_id: str = ""  # Entra ID with a region: the resource's id (tokens are aad#ID#TOKEN)
    max_sessions: int = 100
    label: str = ""  # the name shown in summaries; describe() when empty

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise UsageError(f"resource {self.name}: {problem}", hint=self._hint())

    def _problem(self) -> str:
        if self.kind not in ("region", "endpoint", "host"):
            return f"unknown kind {self.kind!r}: choose region, endpoint or host"
        if self.kind == "region" and not _REGION.fullmatch(self.location):
            return f"{self.location!r} is not a region name such as westeurope"
        if self.kind != "region" and not self.location.startswith(_SCHEMES):
            return f"the {self.kind} must be a URL starting with wss://, ws://, https:// or http://"
        if self.max_sessions < 1:
            return f"max_sessions must be at least 1, not {self.max_sessions}"
        if self.entra and self.key_variable:
            return "give either a key variable or Entra ID, not both"
        if self.key_variable and looks_like_key(self.key_variable):
            return "the key itself was given where the NAME of the variable that holds it goes"
        if self.key_variable and not _VARIABLE.fullmatch(self.key_variable):
            return f"{self.key_variable!r} is not an environment variable name"
        if self.entra and self.kind == "region" and not self.resource_id:
            return "Entra ID with a region needs the resource id (or use its custom-domain endpoint)"
        if self.kind == "region" and not self.entra and not self.key_variable:
            return "a region needs a key variable or Entra ID"
        return ""

    def _hint(self) -> str:
        return "each resource takes a region or a URL, a key variable name or Entra ID, and max_sessions >= 1"

    @property
    def authentication(self) -> Authentication:
        return "entra" if self.entra else "key" if self.key_variable else "none"

    @property
    def name(self) -> str:
        return self.label or self.describe()

    def describe(self) -> str:
        """``region:westeurope``, ``endpoint:wss://...`` with any credential in the URL masked."""
        if self.kind == "region":
            return f"region:{self.location}"
        return f"{self.kind}:{public_endpoint(self.location)}"

    def key(self, env: Mapping[str, str]) -> str:
        """This resource's key from ``env``; a clear error naming the variable when it is unset."""
        if self.authentication != "key":
            raise ValueError(f"resource {self.name} does not sign in with a key")
        value = env.get(self.key_variable, "").strip()
        if not value:
            raise UsageError(
                f"resource {self.name}: the environment variable {self.key_variable} is not set",
                hint=f"export {self.key_variable} with that resource's key",
            )
        if problem := key_problem(value):
            raise UsageError(
                f"resource {self.name}: the key in {self.key_variable} {problem}",
                hint=f"set {self.key_variable} to that resource's key alone",
            )
        return value
