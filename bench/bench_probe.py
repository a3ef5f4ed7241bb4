#!/usr/bin/env python3
"""How long ``batchscribe.audio.probe`` takes per file, over 1,000 files.

Copies the playable fixtures (every supported format, see fixtures/recordings.json) round-robin
into a temporary folder until there are ``--files`` of them, then probes each once, one after
the other, and prints wall time per file overall and per format. The files are in the page
cache (they were just written), so this measures probing, not the disk; the ideal is that
planning a night's folder costs milliseconds per file, nothing like decoding it.

    python bench/bench_probe.py [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batchscribe.audio import probe  # noqa: E402

TARGET_MS = 5.0  # "milliseconds each": planning 1,000 files should take seconds, not minutes


def playable_fixtures() -> list[Path]:
    manifest = json.loads((ROOT / "fixtures" / "recordings.json").read_text())
    return [ROOT / "fixtures" / r["path"] for r in manifest["recordings"] if r["outcome"] == "ok"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()

    sources = playable_fixtures()
    per_kind: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench_probe_") as tmp:
        copies = []
        for i in range(args.files):
            source = sources[i % len(sources)]
            copy = Path(tmp) / f"{i:05d}_{source.name}"
            shutil.copyfile(source, copy)  # real files: a link would share one inode's cache
            copies.append((source.name, copy))
        probe(copies[0][1])  # load FFmpeg's libraries before the clock starts

        started = time.perf_counter()
        for kind, path in copies:
            t = time.perf_counter()
            probe(path)
            per_kind[kind].append(time.perf_counter() - t)
        wall = time.perf_counter() - started

    per_file_ms = wall / args.files * 1000
    print(
        f"probed {args.files} files ({len(sources)} formats) in {wall:.2f} s: "
        f"{per_file_ms:.2f} ms per file (target < {TARGET_MS:g} ms)"
    )
    print(f"  {'format':28} {'median ms':>9} {'max ms':>8}")
    for kind, times in sorted(per_kind.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {kind:28} {statistics.median(times) * 1000:9.2f} {max(times) * 1000:8.2f}")
    return 0 if per_file_ms < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
