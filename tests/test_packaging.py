"""The wheel carries the package and the data that lives outside it."""

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_contains_package_rules_reports_and_default_target(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), REPO],
                   check=True, capture_output=True, timeout=300)
    # "audit" on PyPI is an unrelated package: the distribution has a name of its own,
    # while the import package and the command stay "audit"
    wheel = next(tmp_path.glob("agent_code_audit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert b"\nName: agent-code-audit\n" in zipfile.ZipFile(wheel).read(metadata)
    assert "audit/cli.py" in names
    assert any(n.startswith("audit/_data/rules/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("audit/_data/reports/templates/") for n in names)
    assert "audit/_data/refcc/__main__.py" in names
    assert not any(n.startswith(("tests/", "bench/", "fixtures/")) for n in names)
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert entry and b"audit = audit.cli:entry" in zipfile.ZipFile(wheel).read(entry[0])
