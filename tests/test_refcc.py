"""Tests for the refcc reference compiler: run programs, check diagnostics."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
PROGRAMS = os.path.join(FIXTURES, "refcc_tests")
sys.path.insert(0, FIXTURES)

from refcc.driver import compile_file  # noqa: E402
from refcc.errors import CompileError  # noqa: E402


def _programs():
    return sorted(f for f in os.listdir(PROGRAMS) if f.endswith(".c"))


def _errors():
    return sorted(os.listdir(os.path.join(PROGRAMS, "errors")))


def _header(path, key):
    with open(path) as f:
        first = f.readline()
    m = re.match(r"/\* %s: (.*) \*/" % key, first)
    assert m, f"{path} lacks a /* {key}: ... */ header"
    return m.group(1)


def _build(src, tmp_path):
    asm = tmp_path / "prog.s"
    asm.write_text(compile_file(src))
    exe = tmp_path / "prog"
    subprocess.run(["cc", str(asm), "-o", str(exe), "-lm"], check=True)
    return exe


@pytest.mark.parametrize("name", _programs())
def test_program_runs(name, tmp_path):
    src = os.path.join(PROGRAMS, name)
    exe = _build(src, tmp_path)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=10)
    assert run.returncode == int(_header(src, "exit"))
    expected = src[:-2] + ".out"
    if os.path.exists(expected):
        with open(expected) as f:
            assert run.stdout == f.read()


@pytest.mark.parametrize("name", _errors())
def test_diagnostic_location(name):
    src = os.path.join(PROGRAMS, "errors", name)
    where, text = _header(src, "error").split(": ", 1)
    with pytest.raises(CompileError) as info:
        compile_file(src)
    message = str(info.value)
    assert message.startswith(f"{src}:{where}: error:"), message
    assert text in message


def test_cli_error_exits_nonzero_without_output(tmp_path):
    out = tmp_path / "never"
    src = os.path.join(PROGRAMS, "errors", "undeclared.c")
    proc = subprocess.run([sys.executable, "-m", "refcc", src, "-o", str(out)],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=FIXTURES))
    assert proc.returncode != 0
    assert "undeclared.c:4:10: error:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_builds_and_emits_assembly(tmp_path):
    src = os.path.join(PROGRAMS, "pointers.c")
    env = dict(os.environ, PYTHONPATH=FIXTURES)
    exe, asm = tmp_path / "p", tmp_path / "p.s"
    subprocess.run([sys.executable, "-m", "refcc", src, "-o", str(exe)], check=True, env=env)
    assert subprocess.run([str(exe)]).returncode == 42
    subprocess.run([sys.executable, "-m", "refcc", "-S", src, "-o", str(asm)], check=True, env=env)
    assert "main:" in asm.read_text()


def test_internal_errors_are_reported_as_diagnostics(tmp_path, monkeypatch, capsys):
    from refcc import driver

    def boom(*args):
        raise ValueError("simulated")
    monkeypatch.setattr(driver, "compile_file", boom)
    code = driver.main([os.path.join(PROGRAMS, "misc.c"), "-o", str(tmp_path / "x")])
    assert code != 0
    assert "internal error" in capsys.readouterr().err
