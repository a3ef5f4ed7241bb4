"""``--storage`` and AZURE_STORAGE_CONNECTION_STRING attacked: names Blob Storage refuses, URLs
with a SAS, a user, a folder or plain http to another host, a malformed connection string. Each
is one line and exit 2 before anything is sent, and never shows the secret it holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.azurite import Azurite
from tests.conftest import Batchscribe, Recordings


class _NoToken:
    """An Entra ID credential that must never be asked: the settings are refused first."""

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("asked for a token")


@pytest.mark.parametrize(
    ("storage", "connection", "expected"),
    [
        ("recs", "AccountName=x;AccountKey=SECRETKEY0815;Foo", "not a storage connection string"),
        ("recs", "garbage with AccountKey=SECRETKEY0815", "not a storage connection string"),
        ("Recordings", "", "not a Blob Storage container name"),
        ("a", "", "not a Blob Storage container name"),
        ("a" * 64, "", "not a Blob Storage container name"),
        ("calls_2024", "", "not a Blob Storage container name"),
        ("https://acc.blob.core.windows.net/recs?sv=2022-11-02&sig=SECRETSIG0815", "", "without a query"),
        ("http://127.0.0.1:9/acc/recs?sv=2022-11-02&sig=SECRETSIG0815", "", "without a query"),
        ("http://storage.example.com/recs", "", "must be https"),
        ("https://acc.blob.core.windows.net/recs/2024/march", "", "is not one container"),
        ("https://me:PASSWORD0815@acc.blob.core.windows.net/recs", "", "without a query or a user"),
    ],
)
def test_wrong_storage_settings_are_usage_errors_that_show_no_secret(
    storage: str, connection: str, expected: str, azurite: Azurite
) -> None:
    from batchscribe.engines.batch.storage import BlobStore
    from batchscribe.errors import UsageError

    env = {"AZURE_STORAGE_CONNECTION_STRING": connection or azurite.connection_string}
    with pytest.raises(UsageError) as caught:
        BlobStore.open(storage, access="sas", env=env, credential=_NoToken())
    assert expected in caught.value.message
    assert "0815" not in caught.value.one_line() and "\n" not in caught.value.one_line()


def test_the_cli_refuses_a_malformed_connection_string_in_one_line_with_exit_2(
    recordings: Recordings, batchscribe: Batchscribe, tmp_path: Path
) -> None:
    recordings.add("one.wav", 1)
    env = batchscribe.env(AZURE_STORAGE_CONNECTION_STRING="AccountName=x;AccountKey=SECRETKEY0815;Foo")
    done = batchscribe.run("run", str(recordings.root), "--out", str(tmp_path / "out"), "--engine", "batch",
                           "--endpoint", "http://127.0.0.1:9", "--storage", "recs", env=env)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "0815" not in done.stdout + done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "error: AZURE_STORAGE_CONNECTION_STRING is not a storage connection string (copy it from the "
        "storage account's Access keys, as one line (DefaultEndpointsProtocol=https;AccountName=...;"
        "AccountKey=...;EndpointSuffix=...))"
    ]
