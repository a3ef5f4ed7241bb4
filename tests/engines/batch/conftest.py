"""Azurite for the batch engine's tests, once per session; a misbehaving batch service
(``hostile.py``) and a container in Azurite for the tests that attack the engine with it."""

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


@pytest.fixture(name="hostile")
def hostile_fixture() -> Iterator[tuple[RestServer, Hostile]]:
    with hostile_server() as served:
        yield served


@pytest.fixture(name="store", scope="module")
def store_fixture(azurite: Azurite) -> BlobStore:
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    return BlobStore.open("hostile", access="sas", env=env)
