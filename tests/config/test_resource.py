"""A resource as configured: refused with one clear line when wrong, a safe name, its key read
from the variable it names."""

from __future__ import annotations

import pytest

from batchscribe.config.resource import Resource
from batchscribe.errors import UsageError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "region", "location": "West Europe", "key_variable": "K"}, "not a region name"),
        ({"kind": "endpoint", "location": "speech.example.com", "key_variable": "K"}, "must be a URL"),
        ({"kind": "host", "location": "ws://h:5000", "max_sessions": 0}, "max_sessions must be at least 1"),
        ({"kind": "region", "location": "westeurope", "key_variable": "K", "entra": True}, "not both"),
        (
            {"kind": "region", "location": "westeurope", "key_variable": "0123456789abcdef0123456789abcdef"},
            "the key itself",
        ),
        (
            {"kind": "region", "location": "westeurope", "key_variable": "MY-KEY"},
            "not an environment variable",
        ),
        ({"kind": "region", "location": "westeurope", "entra": True}, "needs the resource id"),
        ({"kind": "region", "location": "westeurope"}, "needs a key variable or Entra ID"),
        ({"kind": "satellite", "location": "x"}, "unknown kind"),
    ],
)
def test_a_bad_resource_is_one_clear_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Resource(**kwargs)  # type: ignore[arg-type]
    assert message in caught.value.message and "\n" not in caught.value.one_line()
    assert "0123456789abcdef0123456789abcdef" not in caught.value.one_line()


@pytest.mark.parametrize(
    ("resource", "authentication", "name"),
    [
        (Resource("region", "westeurope", key_variable="SPEECH_KEY_WEU"), "key", "region:westeurope"),
        (
            Resource("region", "eastus", entra=True, resource_id="/subscriptions/s/x"),
            "entra",
            "region:eastus",
        ),
        (
            Resource("endpoint", "wss://mine.cognitiveservices.azure.com/x", entra=True),
            "entra",
            "endpoint:wss://mine.cognitiveservices.azure.com/x",
        ),
        (Resource("host", "ws://127.0.0.1:5000", label="container"), "none", "container"),
        (
            Resource("host", "wss://u:secret@h/x?subscription-key=abc"),
            "none",
            "host:wss://h/x?subscription-key=***",
        ),
    ],
)
def test_a_resource_says_how_it_signs_in_and_its_safe_name(
    resource: Resource, authentication: str, name: str
) -> None:
    assert resource.authentication == authentication
    assert resource.name == name


def test_the_key_comes_from_the_named_variable_and_its_absence_is_named() -> None:
    resource = Resource("region", "westeurope", key_variable="SPEECH_KEY_WEU")
    assert resource.key({"SPEECH_KEY_WEU": " k3y \n"}) == "k3y"
    with pytest.raises(UsageError, match="SPEECH_KEY_WEU is not set"):
        resource.key({})
