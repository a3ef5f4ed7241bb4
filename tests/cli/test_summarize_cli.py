"""`batchscribe run --summarize` end to end: ``python -m batchscribe`` as cron runs it, the real
Speech SDK and the real ``openai`` client against the emulator (in-process with ``--emulate``, or
started here with faults on its chat completions route)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEY, Batchscribe, Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]
OPENAI_KEY = "5f0c2e7a9b1d4c3e8f6a0b2c4d6e8f1a"  # key-shaped, never a real one
TEXTS = {
    "a.wav": "Thanks for calling about the invoice. I will send a corrected invoice by Friday.",
    "b.wav": "The delivery arrived broken. Please arrange a replacement delivery.",
    "c.wav": "Just checking the delivery date of the invoice.",
}


def make(recordings: Recordings, tmp_path: Path) -> Path:
    for seed, (name, text) in enumerate(TEXTS.items(), 1):
        recordings.add(name, seed=seed, text=text)
    return recordings.save(tmp_path / "t.yaml")


def run_summary(out: Path) -> dict[str, Any]:
    latest = max((out / "_runs").glob("*/summary.json"), key=lambda p: p.parent.name)
    return json.loads(latest.read_text())  # type: ignore[no-any-return]


def summary_of(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / f"{name}.summary.json").read_text())  # type: ignore[no-any-return]


def test_every_recording_gets_its_summary_and_the_report_a_digest(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    transcripts, out = make(recordings, tmp_path), tmp_path / "out"
    args = ["run", str(recordings.root), "--out", str(out), "--emulate", "--emulator-transcripts",
            str(transcripts), "--summarize", *FAST]  # fmt: skip

    done = batchscribe.run(*args)

    assert done.returncode == 0, done.stdout + done.stderr
    a = summary_of(out, "a.wav")
    assert a["status"] == "done" and a["action_items"] == ["I will send a corrected invoice by Friday."]
    assert "invoice" in a["topics"] and a["summary"].startswith("A conversation about")
    assert a["deployment"] == "emulator" and a["model"] == "emulated-emulator"
    assert a["tokens"]["total"] > 0 and a["cost"]["estimated"] > 0 and len(a["prompt_sha256"]) == 64
    assert (out / "a.wav.summary.md").read_text().startswith("# a.wav\n")
    digest = run_summary(out)["summaries"]
    assert (digest["made"], digest["failed"], digest["refused"]) == (3, 0, 0)
    assert digest["topics"][0] == {"topic": "delivery", "recordings": 2}
    assert [r["source"] for r in digest["recordings"]] == ["a.wav", "b.wav", "c.wav"]
    assert digest["recordings"][1]["action_items"] == ["Please arrange a replacement delivery."]
    report = next((out / "_runs").glob("*/report.html")).read_text()
    assert 'id="summaries"' in report and "Please arrange a replacement delivery." in report
    assert "## Summaries (emulator)" in next((out / "_runs").glob("*/summary.md")).read_text()
    assert "summaries: 3 made" in done.stdout

    again = batchscribe.run(*args)

    assert again.returncode == 0, again.stdout + again.stderr
    assert summary_of(out, "a.wav") == a  # not made again: same transcript, prompt and deployment


def test_a_folder_transcribed_earlier_gets_summaries_without_sending_audio(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    transcripts, out = make(recordings, tmp_path), tmp_path / "out"
    base = ["run", str(recordings.root), "--out", str(out), "--emulate", "--emulator-transcripts",
            str(transcripts), *FAST]  # fmt: skip
    assert batchscribe.run(*base).returncode == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav.json")}
    assert not list(out.glob("*.summary.json"))  # without --summarize no text leaves the machine

    planned = json.loads(batchscribe.run("plan", *base[1:], "--summarize", "--json").stdout)[0]
    assert (planned["to_send"], planned["summaries_due"], planned["summaries_unchanged"]) == (0, 3, 0)
    assert planned["summary_tokens"] > 0 and planned["summary_cost"] > 0

    later = batchscribe.run(*base, "--summarize")

    assert later.returncode == 0, later.stdout + later.stderr
    counts = run_summary(out)["counts"]
    assert (counts["succeeded"], counts["skipped_done"]) == (0, 3)  # no audio sent
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav.json")} == stamps
    assert sorted(p.name for p in out.glob("*.summary.json")) == [f"{n}.summary.json" for n in TEXTS]
    planned = json.loads(batchscribe.run("plan", *base[1:], "--summarize", "--json").stdout)[0]
    assert (planned["summaries_due"], planned["summaries_unchanged"], planned["summary_tokens"]) == (0, 3, 0)
    plain = batchscribe.run("plan", *base[1:], "--summarize").stdout
    assert "0 to make, 3 unchanged, ~0 tokens, estimated cost 0.00" in plain

    prompt = tmp_path / "prompt.md"
    prompt.write_text("Summarize as JSON with summary, action_items and topics, for the sales team.\n")
    redone = batchscribe.run(*base, "--summarize", "--summary-prompt", str(prompt))

    assert redone.returncode == 0, redone.stdout + redone.stderr
    assert run_summary(out)["counts"]["succeeded"] == 0  # a new prompt never re-transcribes
    assert run_summary(out)["summaries"]["made"] == 3
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav.json")} == stamps


def host_run(emulator: Any, recordings: Recordings, out: Path, *extra: str) -> list[str]:
    return ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, "--summarize",
            "--openai-endpoint", emulator.rest_url, "--openai-deployment", "calls-gpt", *FAST, *extra]  # fmt: skip


def test_a_content_filter_refusal_is_a_warning_and_not_sent_again(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    make(recordings, tmp_path)
    emulator = emulator_for(recordings, openai_faults=["content_filter:match=broken"])
    env = batchscribe.env(AZURE_OPENAI_API_KEY=OPENAI_KEY)
    out = tmp_path / "out"

    done = batchscribe.run(*host_run(emulator, recordings, out), env=env)

    assert done.returncode == 0, done.stdout + done.stderr  # transcripts done; a refusal is a warning
    b = summary_of(out, "b.wav")
    assert b["status"] == "refused" and "content filter" in b["warning"] and b["summary"] == ""
    assert "b.wav: no summary: refused by the deployment's content filter" in done.stdout + done.stderr
    assert run_summary(out)["summaries"]["refused"] == 1
    assert (out / "b.wav.json").is_file()
    sent = emulator.openai.requests["content_filter"]

    again = batchscribe.run(*host_run(emulator, recordings, out), env=env)

    assert again.returncode == 0
    assert emulator.openai.requests["content_filter"] == sent  # not sent again, nothing changed


def test_rejected_credentials_stop_the_summaries_with_one_line_and_transcripts_go_on(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    make(recordings, tmp_path)
    emulator = emulator_for(recordings, key=KEY, tokens=["the-only-valid-token"])
    out = tmp_path / "out"

    done = batchscribe.run(*host_run(emulator, recordings, out, "--verbose"),
                           env=batchscribe.env(AZURE_OPENAI_API_KEY=OPENAI_KEY))  # fmt: skip

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert (
        output.count("summaries stopped for this run: Azure OpenAI rejected the key in AZURE_OPENAI_API_KEY")
        == 1
    )
    assert sorted(p.name for p in out.glob("*.wav.json")) == ["a.wav.json", "b.wav.json", "c.wav.json"]
    assert not list(out.glob("*.summary.json"))
    assert run_summary(out)["summaries"]["stopped"]
    written = [p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix != ".sqlite"]
    assert OPENAI_KEY not in output and not any(OPENAI_KEY in text for text in written)


def test_max_cost_counts_the_summary_tokens(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    make(recordings, tmp_path)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    # About 1.3 estimated per summary at 1.0 per 1,000 tokens: 2.0 leaves room for one or two.
    done = batchscribe.run(*host_run(emulator, recordings, out, "--max-cost", "2", "--price-per-1k-tokens", "1"),
                           env=batchscribe.env(AZURE_OPENAI_API_KEY=OPENAI_KEY))  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    digest = run_summary(out)["summaries"]
    assert digest["made"] >= 1 and digest["not_scheduled"] >= 1
    assert digest["made"] + digest["not_scheduled"] == 3
    assert digest["stop_reason"] == "the --max-cost budget was reached"
    audio_cost = run_summary(out)["cost"]["estimated"]
    assert audio_cost + digest["cost"]["estimated"] <= 2


def test_no_summary_starts_after_the_max_runtime_window(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    transcripts, out = make(recordings, tmp_path), tmp_path / "out"
    base = ["run", str(recordings.root), "--out", str(out), "--emulate", "--emulator-transcripts",
            str(transcripts), *FAST]  # fmt: skip
    assert batchscribe.run(*base).returncode == 0

    late = batchscribe.run(*base, "--summarize", "--max-runtime", "0.001")

    assert late.returncode == 0, late.stdout + late.stderr
    digest = run_summary(out)["summaries"]
    assert (digest["made"], digest["not_scheduled"]) == (0, 3)
    assert digest["stop_reason"] == "the --max-runtime window ended"
    assert not list(out.glob("*.summary.json"))


def test_a_run_killed_during_summaries_leaves_no_partial_file_and_the_next_finishes_them(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    make(recordings, tmp_path)
    emulator = emulator_for(recordings, openai_faults=["stall:first=2:seconds=60"])
    env = batchscribe.env(AZURE_OPENAI_API_KEY=OPENAI_KEY)
    out = tmp_path / "out"
    process = batchscribe.start(*host_run(emulator, recordings, out), env=env)
    assert emulator.openai.wait_for_requests(3, timeout=60)  # every summary asked for, two held
    process.kill()  # kill -9 while two answers are outstanding
    process.communicate(timeout=30)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav.json")}
    assert len(stamps) == 3 and len(list(out.glob("*.summary.json"))) <= 1

    again = batchscribe.run(*host_run(emulator, recordings, out), env=env)

    assert again.returncode == 0, again.stdout + again.stderr
    assert run_summary(out)["counts"]["succeeded"] == 0  # nothing transcribed twice
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav.json")} == stamps
    assert all(summary_of(out, name)["status"] == "done" for name in TEXTS)
    assert not [p for p in out.rglob("*") if p.name.startswith(".batchscribe-")]  # no temp file left


def test_doctor_asks_the_deployment_once_and_says_when_it_refuses_the_key(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    make(recordings, tmp_path)
    emulator = emulator_for(recordings, key=KEY, tokens=["the-only-valid-token"])
    args = ["doctor", *host_run(emulator, recordings, tmp_path / "out")[1:]]

    refused = batchscribe.run(*args, env=batchscribe.env(AZURE_OPENAI_API_KEY=OPENAI_KEY))
    accepted = batchscribe.run(*args, env=batchscribe.env(AZURE_OPENAI_API_KEY="the-only-valid-token"))

    assert refused.returncode == 1
    [line] = [line for line in refused.stdout.splitlines() if " summaries " in line]
    assert line.split()[:2] == ["FAIL", "summaries"], refused.stdout
    assert "rejected the key in AZURE_OPENAI_API_KEY (HTTP 401)" in line
    assert OPENAI_KEY not in refused.stdout + refused.stderr
    assert accepted.returncode == 0, accepted.stdout
    assert (
        "deployment calls-gpt at " in accepted.stdout
        and "answered (model emulated-calls-gpt)" in accepted.stdout
    )
    chat = {status: n for (route, status), n in emulator.rest_stats().snapshot().items() if "chat" in route}
    assert chat == {401: 1, 200: 1}  # one request each, nothing summarized
