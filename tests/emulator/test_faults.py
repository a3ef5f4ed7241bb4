"""The fault spec language: readable specs parse, print back, and bad ones fail in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchscribe.emulator.faults import (
    Fault,
    FaultSpecError,
    load_faults_file,
    parse_fault,
    parse_recording_fault,
)


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("http:429:first=2", Fault("http", code=429, reason="Injected fault", first=2)),
        ("http:401", Fault("http", code=401, reason="Injected fault")),
        ("close:1011:after=3s", Fault("close", code=1011, reason="Internal server error", after=3)),
        (
            "close:1007:reason=Quota exceeded:after=2s",
            Fault("close", code=1007, reason="Quota exceeded", after=2),
        ),
        (
            "close:4429:after=500ms:sessions=2",
            Fault("close", code=4429, reason="Too many requests", after=0.5, sessions=2),
        ),
        ("reset:after=2s", Fault("reset", reason="Injected fault", after=2)),
        ("stall", Fault("stall", reason="Injected fault")),
        (
            "status:TooManyRequests:sessions=1",
            Fault("status", status="TooManyRequests", reason="Injected fault", sessions=1),
        ),
    ],
)
def test_specs_parse_and_print_back(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("teleport", "unknown kind 'teleport'"),
        ("http", "http needs a code"),
        ("http:200", "400-599"),
        ("http:429:after=2s", "after= does not apply"),
        ("close:abc", "1000-4999"),
        ("close:1011:after=soon", "bad duration 'soon'"),
        ("status:Sleepy", "unknown status 'Sleepy'"),
        ("reset:reason=x", "reason= applies to close only"),
        ("stall:first=0", "first must be a whole number"),
        ("stall:first=1:sessions=1", "not both"),
        ("stall:color=red", "unknown option 'color=red'"),
    ],
)
def test_bad_specs_fail_with_one_line_naming_the_spec(spec: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_fault(spec)
    message = caught.value.one_line()
    assert complaint in message and repr(spec) in message and "\n" not in message


def test_faults_hit_the_first_connections_or_sessions_only() -> None:
    by_connection, by_session = parse_fault("http:429:first=2"), parse_fault("reset:sessions=1")
    assert [by_connection.hits(n, 1) for n in (1, 2, 3)] == [True, True, False]
    assert [by_session.hits(9, s) for s in (1, 2)] == [True, False]
    assert parse_fault("stall").hits(1000, 1000)


def test_a_recordings_fault_cannot_act_before_its_audio() -> None:
    assert parse_recording_fault("close:1011:sessions=2").sessions == 2
    for spec in ("http:503", "reset:first=1"):
        with pytest.raises(FaultSpecError, match="use sessions="):
            parse_recording_fault(spec)


def test_faults_file_skips_comments_and_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "faults.txt"
    good.write_text("# the free tier\nhttp:429:first=1\n\nreset:after=2s  # then a drop\n")
    assert [str(f) for f in load_faults_file(good)] == ["http:429:first=1", "reset:after=2s"]
    bad = tmp_path / "bad.txt"
    bad.write_text("stall\nclose:99\n")
    with pytest.raises(FaultSpecError, match=r"bad.txt:2: bad fault spec 'close:99'"):
        load_faults_file(bad)
