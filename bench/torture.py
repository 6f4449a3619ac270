"""Run GCC's gcc.c-torture/execute suite through refcc and tally the outcomes.

The tests are read straight from Debian's gcc-12 source tarball
(/usr/src/gcc-12/gcc-12*.tar.*) with tarfile and unpacked into a cache directory
under the system temp dir, never into the repository.  The counted set is every
`.c` file directly inside gcc/testsuite/gcc.c-torture/execute/ (1,592 files in
gcc 12.2; the builtins/ and ieee/ subdirectories use extra harness files and are
not counted).

    python bench/torture.py [--every N] [--jobs 2] [--json out.json]
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "/gcc.c-torture/execute/"
COMPILE_LIMIT, RUN_LIMIT = 10, 5


def find_tarball():
    found = sorted(glob.glob("/usr/src/gcc-12/gcc-12*.tar.*"))
    if not found:
        sys.exit("gcc-12 source tarball not found; apt-get install gcc-12-source")
    return found[0]


def unpack_tests(tarball):
    """Copy execute/ members out of the tarball once; returns the cache directory."""
    st = os.stat(tarball)
    key = hashlib.sha1(f"{tarball}:{st.st_size}:{st.st_mtime}".encode()).hexdigest()[:12]
    dest = os.path.join(tempfile.gettempdir(), f"refcc-torture-{key}")
    done = os.path.join(dest, ".complete")
    if os.path.exists(done):
        return dest
    with tarfile.open(tarball, "r|*") as tar:
        for member in tar:
            if MARKER not in member.name or not member.isfile():
                continue
            rel = member.name.split(MARKER, 1)[1]
            path = os.path.join(dest, "execute", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(tar.extractfile(member).read())
    open(done, "w").close()
    return dest


def normalise(line):
    """Collapse a diagnostic into a failure-group key."""
    line = re.sub(r"^[^:]*:\d+:\d+: ", "", line.strip())
    # user identifiers vary per test; punctuation and __builtin names are the cause
    line = re.sub(r"'([^']*)'", lambda m: m.group() if _keep(m.group(1)) else "'X'", line)
    return re.sub(r"\b\d+\b", "N", line)[:90]


def _keep(quoted):
    return quoted.startswith("__") or not re.search(r"\w", quoted)


def first_error(stderr):
    for line in stderr.splitlines():
        if "error" in line:
            return normalise(line)
    lines = stderr.strip().splitlines()
    return normalise(lines[-1]) if lines else "no diagnostic"


def run_one(src, workdir):
    name = os.path.splitext(os.path.basename(src))[0]
    exe = os.path.join(workdir, name)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "fixtures"))
    cmd = [sys.executable, "-m", "refcc", "-w", src, "-o", exe]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_LIMIT, env=env,
                              cwd=os.path.dirname(src))
    except subprocess.TimeoutExpired:
        return name, "timeout", "compile timeout"
    if proc.returncode != 0:
        return name, "compile", first_error(proc.stderr)
    try:
        run = subprocess.run([exe], capture_output=True, timeout=RUN_LIMIT, cwd=workdir)
    except subprocess.TimeoutExpired:
        return name, "timeout", "run timeout"
    finally:
        os.remove(exe)
    code = run.returncode
    if code == 0:
        return name, "pass", ""
    if code == -signal.SIGABRT:
        return name, "wrong", "abort()"
    if code < 0:
        return name, "crash", signal.Signals(-code).name
    return name, "wrong", f"exit status {code}"


def select(dest, every, pattern):
    files = sorted(glob.glob(os.path.join(dest, "execute", "*.c")))
    if pattern:
        files = [f for f in files if re.search(pattern, os.path.basename(f))]
    return files[::every]


def report(results, args, elapsed):
    counts = collections.Counter(kind for _, kind, _ in results)
    total = len(results)
    groups = collections.Counter(f"{kind}: {why}" for _, kind, why in results if kind != "pass")
    print(f"tests: {total}  pass: {counts['pass']} ({100.0 * counts['pass'] / max(total, 1):.1f}%)  "
          f"compile failure: {counts['compile']}  wrong result: {counts['wrong']}  "
          f"crash: {counts['crash']}  timeout: {counts['timeout']}  ({elapsed:.0f}s)")
    for key, n in groups.most_common(args.groups):
        print(f"  {n:5d}  {key}")
    if args.json:
        data = {"counts": dict(counts), "total": total, "elapsed": elapsed,
                "machine": platform.platform(), "cpus": os.cpu_count(),
                "results": [{"test": n, "outcome": k, "cause": w} for n, k, w in results],
                "groups": groups.most_common()}
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="run every Nth test (subset)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--filter", help="regex on test file names")
    ap.add_argument("--json", help="write per-test results here")
    ap.add_argument("--groups", type=int, default=15)
    ap.add_argument("--list", action="store_true", help="print each failing test")
    args = ap.parse_args()
    dest = unpack_tests(find_tarball())
    files = select(dest, args.every, args.filter)
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="refcc-run") as work:
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda f: run_one(f, work), files))
    if args.list:
        for name, kind, why in results:
            if kind != "pass":
                print(f"{name}: {kind}: {why}")
    report(results, args, time.time() - start)


if __name__ == "__main__":
    main()
