"""Azurite for the batch engine's tests, once per session: over plain HTTP with the account key,
and (``azurite_oauth``) over HTTPS with Entra ID, whose certificate ``trust_azurite`` makes this
test's clients trust (azure-core's requests transport, httpx and the emulator's URL reader); a
misbehaving batch service (``hostile.py``) and a container in Azurite for the tests that attack
the engine with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batchscribe.emulator.rest import RestServer
from batchscribe.engines.batch.storage import BlobStore
from tests.azurite import Azurite, running_azurite
from tests.engines.batch.hostile import Hostile, hostile_server


@pytest.fixture(name="azurite", scope="session")
def azurite_fixture() -> Iterator[Azurite]:
    with running_azurite() as azurite:
        yield azurite


@pytest.fixture(name="azurite_oauth", scope="session")
def azurite_oauth_fixture() -> Iterator[Azurite]:
    with running_azurite(oauth=True) as azurite:
        yield azurite


@pytest.fixture(name="trust_azurite")
def trust_azurite_fixture(azurite_oauth: Azurite, monkeypatch: pytest.MonkeyPatch) -> Azurite:
    """The HTTPS Azurite, its certificate trusted by this process for this test only."""
    assert azurite_oauth.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.ca_file))  # azure-core (requests)
    monkeypatch.setenv("SSL_CERT_FILE", str(azurite_oauth.ca_file))  # httpx, urllib (the emulator)
    return azurite_oauth


@pytest.fixture(name="hostile")
def hostile_fixture() -> Iterator[tuple[RestServer, Hostile]]:
    with hostile_server() as served:
        yield served


@pytest.fixture(name="store", scope="module")
def store_fixture(azurite: Azurite) -> BlobStore:
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    return BlobStore.open("hostile", access="sas", env=env)
