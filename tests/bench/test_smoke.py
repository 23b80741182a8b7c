"""`python -m bench --smoke` runs every figure at a tiny size and reports each as a well-formed JSON line.

A benchmark is not a timed test: this checks the shape of what it prints, never how fast anything was."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from bench.figures import FIGURES
from tests.support.emulator import REPO_ROOT


def test_the_smoke_run_prints_one_well_formed_json_line_per_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    figures = [json.loads(line) for line in lines]
    assert [figure["name"] for figure in figures] == list(FIGURES)
    for figure in figures:
        assert set(figure) == {"name", "value", "baseline", "ratio", "unit"}
        assert figure["unit"] in ("s", "req/s", "reads/s", "writes", "requests")
        assert all(isinstance(figure[key], float) and math.isfinite(figure[key]) for key in ("value", "baseline"))
        assert figure["value"] >= 0 and figure["baseline"] > 0  # a no-op's writes are 0
        assert math.isclose(figure["ratio"], figure["value"] / figure["baseline"])
    table = done.stdout.split("\n{", 1)[0]
    assert table.splitlines()[0].split()[:5] == ["figure", "value", "baseline", "ratio", "unit"]
    assert all(name in table for name in FIGURES)
