"""Runs benchmark modules and prints, per family, each implementation's throughput and
fastconv's speed-up over every peer, as markdown tables.

    python bench/compare.py [--threads N] [--stat median] [--save-json FILE] [pytest args]
    python bench/compare.py --json FILE        # the tables of an earlier run
    python bench/compare.py --json A B C       # each benchmark's best of several runs
    python -m bench.compare ...                # the same, from the project root

Without test files among the pytest args, every bench/bench_*.py runs. pytest's own output
goes to stderr, the tables to stdout. Works for any module following bench/common.py's
conventions: the group's first word is the family (one table each), the rest the row;
``extra_info`` holds impl, flops or nbytes, and threads.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
SUBJECT = "fastconv"  # the default implementation every ratio column divides by
STATS = ("median", "min", "mean")


def _absolute_if_path(arg):
    """A test path (``file`` or ``file::node``) made absolute; any other argument unchanged."""
    file, sep, node = arg.partition("::")
    if arg.startswith("-") or not Path(file).exists():
        return arg
    return str(Path(file).resolve()) + sep + node


def run_benchmarks(pytest_args, json_path, threads=None):
    """Runs pytest-benchmark in a child process (FASTCONV_BENCH_THREADS is read at import);
    returns pytest's exit code."""
    pytest_args = [_absolute_if_path(arg) for arg in pytest_args]
    if not any(Path(arg.partition("::")[0]).is_absolute() for arg in pytest_args):
        pytest_args = [str(path) for path in sorted(BENCH_DIR.glob("bench_*.py"))] + pytest_args
    env = dict(os.environ)
    # The project's own fastconv, not an installed one.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    if threads is not None:
        env["FASTCONV_BENCH_THREADS"] = str(threads)
    # NumPy's BLAS gets the run's threads even without threadpoolctl (read at its load).
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[name] = env.get("FASTCONV_BENCH_THREADS", "1")
    command = [sys.executable, "-m", "pytest", *pytest_args, "--benchmark-only",
               f"--benchmark-json={json_path}", "-q"]
    # From the project root: its pytest config, and its git commit in the report.
    return subprocess.run(command, env=env, cwd=PROJECT_ROOT, stdout=sys.stderr).returncode


def load_records(json_path):
    """(pytest-benchmark's report, one dict per benchmark: family, row, impl, stats, work)."""
    with open(json_path) as f:
        report = json.load(f)
    records = []
    for bench in report["benchmarks"]:
        extra = bench.get("extra_info", {})
        family, _, row = (bench.get("group") or "").partition(" ")
        records.append({
            "family": family or "ungrouped",
            "row": row or bench["name"],
            "impl": extra.get("impl") or bench["name"],
            "stats": bench["stats"],
            "flops": extra.get("flops"),
            "nbytes": extra.get("nbytes"),
            "threads": extra.get("threads"),
            "load_average": extra.get("load_average"),
        })
    return report, records


def _ordered_unique(values):
    return list(dict.fromkeys(values))


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def family_table(records, stat, subject=SUBJECT):
    """(unit, header, rows) of one family: rows of cells as strings, the last row the
    geometric mean of each ratio column."""
    # GFLOP/s when every record counts flops, else GB/s when every one counts bytes, else time.
    if all(r["flops"] for r in records):
        unit, work, scale = "GFLOP/s", "flops", 1e-9
    elif all(r["nbytes"] for r in records):
        unit, work, scale = "GB/s", "nbytes", 1e-9
    else:
        unit, work, scale = "ms", None, 1e3

    seconds = {(r["row"], r["impl"]): r["stats"][stat] for r in records}
    amount = {(r["row"], r["impl"]): r[work] for r in records} if work else {}
    row_names = _ordered_unique(r["row"] for r in records)
    impls = _ordered_unique(r["impl"] for r in records)
    impls.sort(key=lambda impl: impl != subject)  # stable: the subject first, peers as they ran
    peers = [impl for impl in impls if impl != subject] if subject in impls else []

    def cell(row, impl):
        if (row, impl) not in seconds:
            return "-"
        value = amount[row, impl] / seconds[row, impl] * scale if work else seconds[row, impl] * scale
        return f"{value:.3f}" if unit == "ms" else f"{value:.1f}"

    ratios = {peer: [] for peer in peers}  # peer time / subject time: > 1 means fastconv is faster
    rows = []
    for row in row_names:
        cells = [row] + [cell(row, impl) for impl in impls]
        for peer in peers:
            if (row, subject) in seconds and (row, peer) in seconds:
                ratio = seconds[row, peer] / seconds[row, subject]
                ratios[peer].append(ratio)
                cells.append(f"{ratio:.2f}")
            else:
                cells.append("-")
        rows.append(cells)
    if peers:
        means = []
        for peer in peers:
            values = ratios[peer]
            text = f"{geometric_mean(values):.2f}" if values else "-"
            means.append(text if len(values) in (0, len(row_names)) else f"{text} (n={len(values)})")
        rows.append(["geometric mean"] + [""] * len(impls) + means)
    header = ["shape"] + impls + [f"{subject} / {peer}" for peer in peers]
    return unit, header, rows


def markdown_table(header, rows):
    widths = [max(len(line[i]) for line in [header] + rows) for i in range(len(header))]

    def line(cells, align_numbers):
        # The first column holds names (left); the others numbers (right, as the rule says).
        padded = [cells[0].ljust(widths[0])] + [
            cell.rjust(width) if align_numbers else cell.ljust(width)
            for cell, width in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|"
    return "\n".join([line(header, False), rule] + [line(row, True) for row in rows])


def format_report(report, records, stat, subject=SUBJECT, runs=1):
    commit = report.get("commit_info", {})
    cpu = report.get("machine_info", {}).get("cpu", {}).get("brand_raw", "unknown CPU")
    threads = ", ".join(str(t) for t in _ordered_unique(r["threads"] for r in records))
    loads = [r["load_average"] for r in records if r["load_average"] is not None]
    load = f"  load average: {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    lines = [f"{report.get('datetime', '')[:19]}  commit {commit.get('id', '?')[:10]}"
             f"{' (dirty)' if commit.get('dirty') else ''}  {cpu}  threads: {threads}{load}  "
             f"stat: {stat} of rounds{f', best of {runs} runs' if runs > 1 else ''}",
             f"Throughput per implementation; `{subject} / peer` = peer time / {subject} time "
             f"(> 1: {subject} is faster)."]
    for family in _ordered_unique(r["family"] for r in records):
        unit, header, rows = family_table([r for r in records if r["family"] == family], stat, subject)
        lines += ["", f"### {family} ({unit})", "", markdown_table(header, rows)]
    return "\n".join(lines)


def best_records(runs, stat):
    """The last run's report, and per (family, row, impl) the record of the run where `stat`
    was lowest."""
    best = {}
    for _, records in runs:
        for record in records:
            key = (record["family"], record["row"], record["impl"])
            if key not in best or record["stats"][stat] < best[key]["stats"][stat]:
                best[key] = record
    return runs[-1][0], list(best.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Other arguments go to pytest, e.g. bench/bench_conv.py -k resnet18.")
    parser.add_argument("--threads", type=int, help="sets FASTCONV_BENCH_THREADS for the run")
    parser.add_argument("--stat", choices=STATS, default="median",
                        help="which statistic of the rounds to compare (default: median)")
    parser.add_argument("--json", type=Path, nargs="+",
                        help="read this pytest-benchmark JSON instead of running; given several, each "
                             "benchmark's best run by --stat (every implementation alike: on a shared "
                             "machine, a burst that slowed one run is left out)")
    parser.add_argument("--save-json", type=Path, help="keep the run's pytest-benchmark JSON here")
    parser.add_argument("--subject", default=SUBJECT,
                        help=f"the implementation the ratios divide by (default: {SUBJECT}; e.g. fastconv-plan)")
    args, pytest_args = parser.parse_known_args(argv)
    if args.json and pytest_args:
        parser.error(f"--json reads an earlier run; pytest arguments {pytest_args} would be ignored")

    exit_code = 0
    if args.json:
        json_paths = args.json
    else:
        json_path = args.save_json or Path(tempfile.mkdtemp(prefix="fastconv-bench-")) / "bench.json"
        exit_code = run_benchmarks(pytest_args, json_path, args.threads)
        if not json_path.exists() or json_path.stat().st_size == 0:  # pytest stopped before writing
            return exit_code or 1
        json_paths = [json_path]
    report, records = best_records([load_records(path) for path in json_paths], args.stat)
    if not records:
        print("no benchmark results", file=sys.stderr)
        return exit_code or 1
    print(format_report(report, records, args.stat, args.subject, runs=len(json_paths)))
    if exit_code:
        print(f"\npytest exited with {exit_code}: some benchmarks failed or were not run (see above)",
              file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
