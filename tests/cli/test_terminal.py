"""Every command as a person runs it: in a terminal (a pseudo-terminal), not piped.

Piped output takes the plain path of each renderer; these tests take the terminal path (rich
tables, the live view) that only a person at a shell sees.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_process import FAST, cli_env, recording
from tests.terminal import run_in_terminal


def test_plan_run_report_and_doctor_work_in_a_terminal(tmp_path: Path) -> None:
    recording(tmp_path / "in" / "a.wav")
    out = tmp_path / "out"
    env = cli_env()
    common = (str(tmp_path / "in"), "--out", str(out), "--emulate")

    plan = run_in_terminal("plan", *common, env=env)
    assert plan.returncode == 0, plan.text
    assert "internal error" not in plan.text
    assert "Plan" in plan.text and "0:00:02" in plan.text  # the table, with the recording's audio
    assert max(len(line) for line in plan.text.splitlines()) <= 120  # fits, never folds

    run = run_in_terminal("run", *common, *FAST, env=env)
    assert run.returncode == 0, run.text
    assert "internal error" not in run.text and "Traceback" not in run.text

    report = run_in_terminal("report", "--out", str(out), env=env)
    assert report.returncode == 0, report.text
    assert "Traceback" not in report.text

    doctor = run_in_terminal("doctor", *common, env=env)
    assert doctor.returncode == 0, doctor.text
    assert "FAIL" not in doctor.text and "Traceback" not in doctor.text


def test_the_plan_table_of_two_jobs_fits_120_columns(tmp_path: Path) -> None:
    for name in ("calls", "meetings"):
        recording(tmp_path / name / "x.wav")
        (tmp_path / name / "notes.txt").write_text("not audio")  # one more nonzero column
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        + "".join(
            f"  {n}: {{inputs: [{tmp_path / n}], out: {tmp_path / 'out' / n}, include: ['*']}}\n"
            for n in ("calls", "meetings")
        )
    )
    shown = run_in_terminal("plan", "--jobs", str(jobs), "--emulate", env=cli_env())
    assert shown.returncode == 0, shown.text
    assert "calls" in shown.text and "meetings" in shown.text and "total" in shown.text
    assert max(len(line) for line in shown.text.splitlines()) <= 120, shown.text
    assert "to send" in shown.text and "0:00:03" in shown.text, shown.text  # nothing folded
