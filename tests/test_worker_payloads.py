"""What the workers send the parent arrives equal: results, findings and clone sketches."""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle

from audit.clone_sketch import UnitPrints
from audit.clones import CloneParams
from audit.config import ScanConfig
from audit.metrics.measure import measure
from audit.parse import parse
from audit.pipeline import Job, scan
from audit.walk import source_from_bytes
from conftest import same_prints

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def _scan(path: str, jobs: int = 1, passes=("rules", "clones")):
    config = ScanConfig(paths=(os.path.join(FIXTURES, path),), jobs=jobs)
    options = {"clones": dataclasses.asdict(CloneParams(min_lines=3, min_tokens=20)), "rules": {}}
    return scan(config, Job(config.max_file_size, passes=passes, options=options))


def test_file_results_with_units_findings_and_errors_survive_pickling():
    result, _ = _scan("refcc")
    files = [f for f in result.files if f.units and f.findings]
    assert len(files) >= 5
    for f in files:
        back = pickle.loads(pickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == f and back.units[0].metrics.halstead == f.units[0].metrics.halstead
    broken = measure(parse(source_from_bytes("x.rs", "rust", b"fn f() { if { }\nfn g() {}\n", 1 << 20)))
    assert broken.parse_errors and pickle.loads(pickle.dumps(broken)) == broken


def test_a_files_clone_sketches_survive_pickling_as_one_set_of_arrays():
    _, payloads = _scan("clones")
    sent = [p["clones"] for p in payloads.values() if len(p["clones"]) >= 2]
    assert len(sent) >= 3
    for prints in sent:
        assert isinstance(prints, UnitPrints)
        back = pickle.loads(pickle.dumps(prints, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is type(prints)
        same_prints(prints, back)
        # one array per field for the file, not one per unit and field
        assert back[0].fp_hash.base is not None and back[0].fp_hash.base is back[1].fp_hash.base
    assert pickle.loads(pickle.dumps(UnitPrints())) == UnitPrints()


def test_a_pooled_scan_equals_one_in_process_and_leaves_the_collector_as_it_was():
    frozen = gc.get_freeze_count()
    alone, alone_payloads = _scan("clones", jobs=1)
    pooled, pooled_payloads = _scan("clones", jobs=2)
    assert gc.get_freeze_count() == frozen
    assert pooled.files == alone.files
    assert sorted(pooled_payloads) == sorted(alone_payloads)
    for path, payload in alone_payloads.items():
        assert type(payload["clones"]) is type(pooled_payloads[path]["clones"])
        same_prints(payload["clones"], pooled_payloads[path]["clones"])


def test_a_whole_scan_leaves_the_collector_as_it_was(tmp_path):
    from audit.cli import main

    frozen = gc.get_freeze_count()
    out = tmp_path / "scan.json"
    assert main(["scan", "-q", "-j", "2", "--json", str(out), os.path.join(FIXTURES, "clones")]) == 0
    assert gc.get_freeze_count() == frozen
    assert out.stat().st_size > 0
