"""docs/ENGINES.md cannot drift: every module, test and option it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ENGINES.md").read_text(encoding="utf-8")


def test_every_path_the_engine_seam_doc_names_exists() -> None:
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z_]*(?:\.py)?)`", DOC)) | set(
        re.findall(r"\((engines/[a-z_]+\.py)\)", DOC)
    )
    assert named, "the doc names no module"
    missing = [p for p in sorted(named) if not ((ROOT / "batchscribe" / p).exists() or (ROOT / p).exists())]
    assert missing == [], f"docs/ENGINES.md names what does not exist: {missing}"


def test_the_engines_package_points_to_the_doc() -> None:
    import batchscribe.engines

    assert "docs/ENGINES.md" in (batchscribe.engines.__doc__ or "")
