"""Time formats: Azure ISO 8601 durations, subtitle clocks, UTC instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from batchscribe.outputs.timefmt import (
    clock,
    human_seconds,
    iso_duration,
    milliseconds,
    parse_iso_duration,
    srt_time,
    utc_iso,
    vtt_time,
)

SECOND = 10_000_000


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        (0, "PT0S"),
        (1, "PT0.0000001S"),
        (7_600_000, "PT0.76S"),
        (25_800_000, "PT2.58S"),
        (SECOND, "PT1S"),
        (623_400_000, "PT1M2.34S"),
        (60 * SECOND, "PT1M"),
        (3600 * SECOND, "PT1H"),
        (3600 * SECOND + 5_000_000, "PT1H0.5S"),
        (3661 * SECOND, "PT1H1M1S"),
        (25 * 3600 * SECOND + 120 * SECOND, "PT25H2M"),
    ],
)
def test_iso_duration_is_azure_style_without_trailing_zeros(ticks: int, expected: str) -> None:
    assert iso_duration(ticks) == expected
    assert parse_iso_duration(expected) == ticks


def test_iso_duration_refuses_negative_time() -> None:
    with pytest.raises(ValueError, match="negative"):
        iso_duration(-1)


@pytest.mark.parametrize("text", ["", "PT", "P1D", "PT1.S", "PT-1S", "1M2S", "PT0.12345678S"])
def test_parse_iso_duration_rejects_what_we_never_write(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso_duration(text)


def test_subtitle_clocks_round_to_the_millisecond() -> None:
    assert milliseconds(7_604_999) == 760
    assert milliseconds(7_605_000) == 761
    assert srt_time(3_723_004) == "01:02:03,004"
    assert vtt_time(3_723_004) == "01:02:03.004"
    assert vtt_time(100 * 3600 * 1000) == "100:00:00.000"


def test_clock_truncates_to_the_second() -> None:
    assert clock(9_990_000) == "00:00:00"
    assert clock(3723 * SECOND) == "01:02:03"


def test_utc_iso_converts_to_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert utc_iso(datetime(2026, 11, 21, 3, 14, 7, 900, tzinfo=paris)) == "2026-11-21T02:14:07Z"
    assert utc_iso(datetime(2026, 11, 21, 2, 14, 7, tzinfo=timezone.utc)) == "2026-11-21T02:14:07Z"


def test_utc_iso_takes_a_naive_datetime_as_local_time() -> None:
    naive = datetime(2026, 11, 21, 2, 14, 7)
    assert utc_iso(naive) == utc_iso(naive.astimezone())


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0 s"), (0.25, "250 ms"), (12.34, "12.3 s"), (245, "4 min 05 s"), (7380, "2 h 03 min")],
)
def test_human_seconds(seconds: float, expected: str) -> None:
    assert human_seconds(seconds) == expected
