"""Run ``python -m batchscribe ARGS...`` in this process and, at exit, write its peak RSS.

    python bench/_peak.py REPORT_FILE ARGS...

REPORT_FILE gets one line: VmHWM in bytes (the peak resident set of this process since exec).
The parent cannot use ``ru_maxrss`` from ``wait4`` for this: Linux carries the parent's own peak
RSS over fork+exec into the child's ``ru_maxrss``, so a child never looks smaller than its parent.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _write_peak(report: Path) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            report.write_text(f"{int(line.split()[1]) * 1024}\n")


if __name__ == "__main__":
    atexit.register(_write_peak, Path(sys.argv[1]))
    sys.argv = ["batchscribe", *sys.argv[2:]]
    runpy.run_module("batchscribe", run_name="__main__", alter_sys=True)
