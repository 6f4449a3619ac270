"""The program's entry point ends the process without the interpreter's teardown:
what it prints, writes and returns must be what main() gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _audit(*args: str, cwd: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "audit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def test_the_entry_point_flushes_output_writes_files_and_returns_the_status(tmp_path):
    (tmp_path / "lib.rs").write_text("fn f(x: Option<i32>) -> i32 { x.unwrap() }\n")
    out = tmp_path / "scan.json"
    done = _audit("scan", "--no-color", "--json", str(out), "--fail-on", "warning", str(tmp_path),
                  cwd=str(tmp_path))
    assert done.returncode == 1  # the unwrap finding is a warning
    assert "audit summary" in done.stdout and done.stdout.endswith("\n")
    assert f"JSON written to {out}" in " ".join(done.stdout.split())
    assert "--fail-on warning" in done.stderr
    assert json.loads(out.read_text())["files"][0]["path"] == "lib.rs"
    assert _audit("scan", "-q", str(tmp_path), cwd=str(tmp_path)).returncode == 0


def test_errors_keep_their_exit_status(tmp_path):
    done = _audit("scan", str(tmp_path / "missing"), cwd=str(tmp_path))
    assert done.returncode == 3 and "path does not exist" in done.stderr
    assert _audit("--version", cwd=str(tmp_path)).stdout.startswith("audit ")
    assert _audit("scan", "--no-such-option", cwd=str(tmp_path)).returncode == 2
