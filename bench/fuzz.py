"""Fuzz campaign: mutated copies of the project's own fixtures, scanned in batches.

    python bench/fuzz.py -n 100000 [--batch 1000] [-j N] [--seed S] [--guard SECONDS]
                         [--keep DIR] [--json SUMMARY] [--fixtures DIR] [-- SCAN OPTIONS]
    python bench/fuzz.py --first 50000 -n 50000 ...      # one part of a campaign
    python bench/fuzz.py --merge PART.json ... --json SUMMARY   # the parts added up

Each input is a fixture (fixtures/**/*.rs and *.py) mutated one to three times:
byte flips, insertions of brackets, quotes, comment openers, non-ASCII and bidi
characters, NUL, BOM and control characters (one, or a run of up to 1,000; one
insertion in a hundred a run of 20,000 or 100,000, at most ~200 KB),
deletion, truncation, splicing of two files and duplication of a stretch. The
inputs of a batch are written to a scratch folder and read by one `audit scan`
run (the command line's own code, with its exit code), under a wall-clock guard
(a batch past it is a hang). Every input is accounted for from the run's JSON:
measured + skipped = inputs, or the batch is reported. Per-file times come from
a wrapper around the pipeline's per-file function (in the scanning process and
its workers), so the slowest inputs are named with their times; --keep saves
them and any failing batch, and the seed and index rebuild any input.

The summary (stdout, and --json, rewritten after every batch so that a campaign
stopped early keeps its figures) gives inputs, batches, exit codes, skip reasons,
hangs, unaccounted inputs, wall and CPU time and the slowest files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSERTS = [
    "(", ")", "[", "]", "{", "}", "<", ">", "\"", "'", "'''", "\"\"\"", "r#\"", "b\"", "f\"{",
    "/*", "*/", "//", "#", "\\", "`", "$", "@", "|", "::", "=>", "->", ";", ",", ":",
    "\u00e9", "\u4e00", "\U0001F600", "\u00a0", "\u202e", "\u202d", "\u2066", "\u2067",
    "\u2068", "\u2069", "\u200f", "\u200b", "\u2028", "\ufeff", "\ud7ff", "\x00", "\r", "\x0c",
    "\x1b[31m", "\t", "\n", "fn ", "def ", "impl ", "class ", "match ", "if ", "else ",
    "lambda ", "async ", "await ", "macro_rules! m { ($x:expr) => { $x } }", "@decorator\n",
]
NOTABLE = {"analysis-error", "crashed", "timeout", "too-much-memory", "error-flood"}  # listed
RUNS = [1] * 6 + [2, 3, 10, 100, 1000]  # how many times an insertion repeats
HUGE_RUNS = (20_000, 100_000)  # one insertion in HUGE_EVERY repeats this often
HUGE_EVERY = 100


# -- inputs ------------------------------------------------------------------------
def fixtures(root: str) -> list[tuple[str, bytes]]:
    """(extension, bytes) of every Rust and Python fixture, in a stable order."""
    paths = sorted(glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)
                   + glob.glob(os.path.join(root, "**", "*.py"), recursive=True))
    out = []
    for path in paths:
        with open(path, "rb") as fh:
            out.append((os.path.splitext(path)[1], fh.read()))
    return out


def mutate(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    """One mutation of data (other: a second fixture, for splicing); returns its name too."""
    kind = rng.choice(("flip", "insert", "insert", "delete", "truncate", "splice", "duplicate"))
    n = len(data)
    at = rng.randrange(n + 1)
    if kind == "flip" and n:
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        return bytes(buf), "flip"
    if kind == "insert" or not n:
        token = rng.choice(INSERTS).encode("utf-8", "surrogatepass")
        run = rng.choice(HUGE_RUNS) if rng.randrange(HUGE_EVERY) == 0 else rng.choice(RUNS)
        run = min(run, max(1, 200_000 // len(token)))  # at most ~200 KB
        return data[:at] + token * run + data[at:], f"insert {token[:12]!r}x{run}"
    if kind == "delete":
        end = min(n, at + rng.randint(1, 200))
        return data[:at] + data[end:], "delete"
    if kind == "truncate":
        return data[:at], "truncate"
    if kind == "splice":
        cut = rng.randrange(len(other) + 1)
        return data[:at] + other[cut:], "splice"
    end = min(n, at + rng.randint(1, 400))
    return data[:end] + data[at:end] * rng.choice((1, 2, 10, 100)) + data[end:], "duplicate"


def make_input(seed: int, index: int, pool: list[tuple[str, bytes]]) -> tuple[str, bytes, str]:
    """Input number ``index`` of the campaign ``seed``: (extension, bytes, recipe)."""
    rng = random.Random(seed * 1_000_003 + index)
    ext, data = rng.choice(pool)
    steps = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        data, step = mutate(rng, data, rng.choice(pool)[1])
        steps.append(step)
    return ext, data, "; ".join(steps)


# -- one batch ---------------------------------------------------------------------
def run_batch(args, first: int, count: int, pool, scratch: str) -> dict:
    """Write inputs first..first+count-1, scan them in one run and account for each."""
    folder = os.path.join(scratch, f"batch{first:07d}")
    os.makedirs(folder)
    names, recipes = set(), {}
    for index in range(first, first + count):
        ext, data, recipe = make_input(args.seed, index, pool)
        name = f"f{index:07d}{ext}"
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)
        names.add(name)
        recipes[name] = recipe
    out = os.path.join(scratch, "out.json")
    timings = os.path.join(scratch, "timings")
    shutil.rmtree(timings, ignore_errors=True)
    os.makedirs(timings)
    cmd = [sys.executable, os.path.abspath(__file__), "--scan-with-timings", timings, "--",
           "scan", folder, "--json", out, "-q", "--no-gitignore", *args.scan_options]
    if args.jobs:
        cmd += ["-j", str(args.jobs)]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=args.guard)
        code, stderr = proc.returncode, proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        code, stderr = "hang", (exc.stderr or b"").decode("utf-8", "replace")
    wall = time.monotonic() - started
    result = _account(out, names, code)
    result.update(first=first, count=count, code=code, wall=wall, stderr=stderr[-2000:],
                  times=_times(timings, recipes))
    if (code not in (0,) or result["unaccounted"]) and args.keep:
        shutil.copytree(folder, os.path.join(args.keep, os.path.basename(folder)))
    shutil.rmtree(folder)
    if os.path.exists(out):
        os.remove(out)
    return result


def _account(out: str, names: set[str], code) -> dict:
    measured, reasons = set(), Counter()
    skipped, notable = set(), []
    if code != "hang" and os.path.exists(out):
        with open(out, encoding="utf-8") as fh:
            doc = json.load(fh)
        measured = {f["path"] for f in doc["files"]}
        for s in doc["skipped"]:
            skipped.add(s["path"])
            reasons[s["reason"]] += 1
            if s["reason"] in NOTABLE:
                notable.append({"input": s["path"], "reason": s["reason"], "detail": s["detail"]})
    accounted = (measured | skipped) & names
    return {"measured": len(measured & names), "skipped": len(skipped & names),
            "reasons": reasons, "unaccounted": len(names - accounted),
            "extra": len((measured | skipped) - names), "notable": notable}


def _times(folder: str, recipes: dict) -> list[tuple[float, float, str, str, str]]:
    """(CPU seconds, wall seconds, name, outcome, recipe) of every input the pipeline timed."""
    rows = []
    for path in glob.glob(os.path.join(folder, "*.tsv")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                cpu, wall, name, outcome = line.rstrip("\n").split("\t")
                rows.append((float(cpu), float(wall), name, outcome, recipes.get(name, "")))
    return rows


# -- the campaign ------------------------------------------------------------------
def campaign(args) -> dict:
    pool = fixtures(args.fixtures)
    scratch = tempfile.mkdtemp(prefix="audit-fuzz-")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    totals = {"inputs": 0, "measured": 0, "skipped": 0, "unaccounted": 0, "extra": 0,
              "batches": 0, "hangs": 0}
    codes, reasons, slowest, failures, notable = Counter(), Counter(), [], [], []
    wall0, cpu0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = {}
    try:
        for first in range(args.first, args.first + args.n, args.batch):
            count = min(args.batch, args.first + args.n - first)
            res = run_batch(args, first, count, pool, scratch)
            _add(totals, codes, reasons, res)
            notable += res["notable"]
            slowest = sorted(slowest + res["times"], reverse=True)[:args.slowest]
            if res["code"] != 0 or res["unaccounted"] or res["extra"]:
                failures.append({k: res[k] for k in ("first", "count", "code", "unaccounted",
                                                     "stderr")})
            _progress(totals, codes, wall0, res)
            summary = _summary(args, totals, codes, reasons, slowest, failures, wall0, cpu0)
            summary["notable"] = notable[:200]  # timeouts, crashes, analysis errors: what and why
            _write(args.json, summary)  # after every batch: a stopped campaign keeps its figures
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.keep:
        _keep_slowest(args, slowest, pool)
    return summary


def _write(path: str | None, summary: dict) -> None:
    if path:
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(json.dumps(summary, indent=1) + "\n")
        os.replace(path + ".tmp", path)


def _summary(args, totals, codes, reasons, slowest, failures, wall0, cpu0) -> dict:
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "command": " ".join(["python", "bench/fuzz.py", *sys.argv[1:]]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.platform()}",
        "seed": args.seed, **totals, "exit_codes": dict(codes), "skip_reasons": dict(reasons),
        "wall_s": round(time.monotonic() - wall0, 1),
        "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
        "max_rss_mib": round(cpu1.ru_maxrss / 1024),
        "slowest": [{"cpu_s": round(c, 3), "wall_s": round(w, 3), "input": n, "outcome": o,
                     "recipe": r} for c, w, n, o, r in slowest],
        "failures": failures,
    }


def merge(paths: list[str], slowest: int) -> dict:
    """One summary from the summaries of parts of one campaign (same seed, disjoint inputs)."""
    parts = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            parts.append(json.load(fh))
    if len({p["seed"] for p in parts}) != 1:
        sys.exit("the parts were run with different seeds: they are not one campaign")
    out = {"commands": [p["command"] for p in parts], "date": max(p["date"] for p in parts),
           "machine": parts[0]["machine"], "seed": parts[0]["seed"]}
    for key in ("inputs", "measured", "skipped", "unaccounted", "extra", "batches", "hangs",
                "wall_s", "cpu_s"):
        out[key] = round(sum(p[key] for p in parts), 1)
    for key in ("exit_codes", "skip_reasons"):
        out[key] = dict(sum((Counter(p[key]) for p in parts), Counter()))
    out["max_rss_mib"] = max(p["max_rss_mib"] for p in parts)
    out["slowest"] = sorted((s for p in parts for s in p["slowest"]), key=lambda s: -s["cpu_s"])[:slowest]
    out["failures"] = [f for p in parts for f in p["failures"]]
    out["notable"] = [n for p in parts for n in p.get("notable", [])][:200]
    return out


def _add(totals, codes, reasons, res) -> None:
    totals["inputs"] += res["count"]
    totals["batches"] += 1
    for key in ("measured", "skipped", "unaccounted", "extra"):
        totals[key] += res[key]
    totals["hangs"] += res["code"] == "hang"
    codes[str(res["code"])] += 1
    reasons.update(res["reasons"])


def _progress(totals, codes, wall0, res) -> None:
    print(f"[{time.monotonic() - wall0:8.0f} s] inputs {totals['inputs']:,} measured "
          f"{totals['measured']:,} skipped {totals['skipped']:,} unaccounted "
          f"{totals['unaccounted']} hangs {totals['hangs']} exits {dict(codes)} "
          f"(batch {res['wall']:.1f} s)", file=sys.stderr, flush=True)


def _keep_slowest(args, slowest, pool) -> None:
    folder = os.path.join(args.keep, "slowest")
    os.makedirs(folder, exist_ok=True)
    for *_cost, name, _outcome, _recipe in slowest:
        ext, data, _ = make_input(args.seed, int(name[1:8]), pool)
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)


# -- inside the scanning process ---------------------------------------------------
def scan_with_timings(folder: str, argv: list[str]) -> int:
    """Run `audit` with the pipeline's per-file function timed: one line per file,
    "cpu<TAB>wall<TAB>name<TAB>outcome" (seconds), in a file per process (workers included)."""
    import audit.pipeline as pipeline
    from audit.cli import main

    real = pipeline.analyse_candidate
    logs: dict[int, object] = {}

    def timed(task):
        started, cpu = time.perf_counter(), time.process_time()
        out = real(task)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        log = logs.get(os.getpid())
        if log is None:
            log = logs[os.getpid()] = open(os.path.join(folder, f"{os.getpid()}.tsv"), "a")
        outcome = getattr(out[0], "reason", "measured")
        log.write(f"{cpu:.4f}\t{seconds:.4f}\t{os.path.basename(task[0].path)}\t{outcome}\n")
        log.flush()
        return out

    pipeline.analyse_candidate = timed
    return main(argv)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--scan-with-timings":
        return scan_with_timings(sys.argv[2], sys.argv[4:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=100_000, help="inputs (default 100,000)")
    p.add_argument("--first", type=int, default=0,
                   help="number of the first input (default 0): parts of one campaign can run apart")
    p.add_argument("--batch", type=int, default=1000, help="inputs per scan (default 1,000)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="scan workers (default: the scan's)")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--guard", type=float, default=900.0,
                   help="seconds a batch may take before it counts as a hang (default 900)")
    p.add_argument("--slowest", type=int, default=10, help="slowest inputs to list")
    p.add_argument("--keep", help="folder for failing batches and the slowest inputs")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--fixtures", default=os.path.join(REPO, "fixtures"),
                   help="folder of .rs and .py files to mutate (default: fixtures/)")
    p.add_argument("scan_options", nargs="*", help="more `audit scan` options, after --")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="instead of running: add up the summaries of parts of one campaign")
    args = p.parse_args()
    if args.merge:
        summary = merge(args.merge, args.slowest)
        _write(args.json, summary)
        print(json.dumps(summary, indent=1))
        return 0
    summary = campaign(args)
    print(json.dumps(summary, indent=1))
    bad = summary["hangs"] or summary["unaccounted"] or set(summary["exit_codes"]) - {"0"}
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
