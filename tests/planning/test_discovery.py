"""Discovery finds exactly the recordings, in a stable order, whatever else lies around."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchscribe.errors import UsageError
from batchscribe.planning.discovery import discover, matches


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_finds_audio_recursively_and_skips_junk(tmp_path: Path) -> None:
    touch(tmp_path / "b.wav")
    touch(tmp_path / "A.MP3")
    touch(tmp_path / "sub" / "deeper" / "c.Flac")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden.wav")
    touch(tmp_path / "._b.wav")
    touch(tmp_path / ".git" / "d.wav")
    found = discover([tmp_path])
    assert [f.source for f in found.files] == ["A.MP3", "b.wav", "sub/deeper/c.Flac"]
    assert found.ignored == 1  # notes.txt; hidden entries are not even looked at
    assert all(f.path.is_absolute() and f.size == 1 for f in found.files)


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    for name in ("calls/a.wav", "calls/b.mp3", "meetings/c.wav"):
        touch(tmp_path / name)
    assert [f.source for f in discover([tmp_path], include=["*.wav"]).files] == [
        "calls/a.wav",
        "meetings/c.wav",
    ]
    assert [f.source for f in discover([tmp_path], exclude=["meetings/*"]).files] == [
        "calls/a.wav",
        "calls/b.mp3",
    ]


def test_symlink_loop_is_not_followed_forever(tmp_path: Path) -> None:
    touch(tmp_path / "x" / "a.wav")
    (tmp_path / "x" / "loop").symlink_to(tmp_path)
    assert [f.source for f in discover([tmp_path]).files] == ["x/a.wav"]


def test_several_roots_get_their_name_as_prefix(tmp_path: Path) -> None:
    touch(tmp_path / "one" / "a.wav")
    touch(tmp_path / "two" / "a.wav")
    single = touch(tmp_path / "single.wav")
    found = discover([tmp_path / "one", tmp_path / "two", single])
    assert [f.source for f in found.files] == ["one/a.wav", "single.wav/single.wav", "two/a.wav"]


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        discover([tmp_path / "nope"])


def test_glob_without_slash_matches_the_name() -> None:
    assert matches("deep/folder/a.wav", ["a.*"])
    assert not matches("deep/folder/a.wav", ["folder/*"])
    assert matches("deep/folder/a.wav", ["deep/*"])
