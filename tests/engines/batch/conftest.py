"""Azurite for the batch engine's tests, once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.azurite import Azurite, running_azurite


@pytest.fixture(name="azurite", scope="session")
def azurite_fixture() -> Iterator[Azurite]:
    with running_azurite() as azurite:
        yield azurite
