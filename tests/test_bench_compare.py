"""bench/compare.py's tables from several runs: each benchmark's best run, every
implementation alike, and a header that says so."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import compare  # noqa: E402


def run_json(path, times, datetime):
    """A pytest-benchmark report of one conv row timed for fastconv and a peer."""
    benchmarks = [{"group": "conv layer-a", "name": impl, "fullname": f"bench::{impl}",
                   "stats": {"min": t, "median": t, "mean": t},
                   "extra_info": {"impl": impl, "flops": 1e9, "threads": 1}}
                  for impl, t in times.items()]
    path.write_text(json.dumps({"datetime": datetime, "commit_info": {"id": "abc"}, "benchmarks": benchmarks}))
    return path


def test_best_of_several_runs(tmp_path, capsys):
    first = run_json(tmp_path / "a.json", {"fastconv": 1.0, "onnxruntime": 4.0}, "2026-01-01T00:00:00")
    second = run_json(tmp_path / "b.json", {"fastconv": 2.0, "onnxruntime": 2.0}, "2026-01-02T00:00:00")
    assert compare.main(["--json", str(first), str(second), "--stat", "min"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2026-01-02T00:00:00") and "best of 2 runs" in out
    row = next(line for line in out.splitlines() if line.startswith("| layer-a"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # fastconv from the first run (1 s: 1 GFLOP/s), the peer from the second (2 s)
    assert cells[1:3] == ["1.0", "0.5"] and cells[3] == "2.00"


def test_one_run_keeps_its_header(tmp_path, capsys):
    only = run_json(tmp_path / "a.json", {"fastconv": 1.0, "onnxruntime": 4.0}, "2026-01-01T00:00:00")
    assert compare.main(["--json", str(only), "--stat", "min"]) == 0
    out = capsys.readouterr().out
    assert "best of" not in out and "| layer-a" in out
