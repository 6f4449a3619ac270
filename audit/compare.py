"""Deltas between two analysed trees: per project, file and unit (added, removed, changed, moved).

Files pair up by path, then by content (exact blob id, else line-set Jaccard
as git's rename detection does, at least 50%). Units pair up inside each file
pair by qualified name without the module prefix (a moved file keeps its
functions' names), and what is left over pairs across the project by content
similarity: a function moved to another file or renamed is "moved", not
"removed" plus "added". Pure: takes analysed snapshots, returns values.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from audit.lang.walker import walker_for
from audit.results import FileResult, Unit

FILE_RENAME_MIN = 0.5  # git's default rename similarity
UNIT_MOVE_MIN = 0.6  # line-set Jaccard for a unit to count as moved or renamed
UNIT_MOVE_MIN_LINES = 3  # smaller units are too generic to pair by content
COMMON_LINE_DF = 50  # a line in more units than this (`Ok(())`, `break;`) cannot pair units
LIST_LIMIT = 200  # longest list of findings in the JSON


def line_hashes(data: bytes) -> tuple[int, ...]:
    """One hash per line with whitespace removed; 0 for lines without two alphanumerics."""
    out = []
    for raw in data.split(b"\n"):
        line = b"".join(raw.split())
        alnum = sum(1 for ch in line[:8] if 48 <= ch <= 57 or 65 <= ch <= 90 or 97 <= ch <= 122)
        out.append(zlib.crc32(line) | 1 if alnum >= 2 else 0)
    return tuple(out)


@dataclass(frozen=True)
class Snapshot:
    """One side of a comparison: analysed files and each file's line hashes."""

    label: str
    files: tuple[FileResult, ...]
    skipped: tuple = ()
    lines: dict = field(default_factory=dict)  # path -> tuple[int, ...] from line_hashes

    def unit_lines(self, path: str, unit: Unit) -> frozenset[int]:
        hashes = self.lines.get(path, ())
        return frozenset(h for h in hashes[unit.start_line - 1:unit.end_line] if h)

    def unit_text_key(self, path: str, unit: Unit) -> tuple[int, ...]:
        return tuple(self.lines.get(path, ())[unit.start_line - 1:unit.end_line])


@dataclass(frozen=True)
class FileDelta:
    """How one file changed: status added | removed | changed | unchanged | moved."""

    status: str
    path: str  # the path in B (in A when removed)
    old_path: str = ""
    language: str = ""
    similarity: float = 1.0
    sloc: tuple[int, int] = (0, 0)
    units: tuple[int, int] = (0, 0)
    cyclomatic: tuple[int, int] = (0, 0)
    findings: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict:
        return {"status": self.status, "path": self.path, "old_path": self.old_path,
                "language": self.language, "similarity": round(self.similarity, 3),
                "sloc": list(self.sloc), "units": list(self.units),
                "cyclomatic": list(self.cyclomatic), "findings": list(self.findings)}


@dataclass(frozen=True)
class UnitDelta:
    """How one unit changed; numbers are (A, B) pairs, 0 on the missing side."""

    status: str
    path: str
    qualname: str
    kind: str
    start_line: int
    old_path: str = ""
    old_qualname: str = ""
    similarity: float = 1.0
    cyclomatic: tuple[int, int] = (0, 0)
    cognitive: tuple[int, int] = (0, 0)
    sloc: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict:
        return {"status": self.status, "path": self.path, "qualname": self.qualname,
                "kind": self.kind, "start_line": self.start_line, "old_path": self.old_path,
                "old_qualname": self.old_qualname, "similarity": round(self.similarity, 3),
                "cyclomatic": list(self.cyclomatic), "cognitive": list(self.cognitive),
                "sloc": list(self.sloc)}


@dataclass(frozen=True)
class CompareResult:
    """Everything `audit compare` reports; ``sections`` holds provenance when available."""

    a: str
    b: str
    totals: tuple[dict, dict]
    files: tuple[FileDelta, ...]
    units: tuple[UnitDelta, ...]
    hotspots_new: tuple[UnitDelta, ...]
    hotspots_fixed: tuple[UnitDelta, ...]
    findings_new: tuple[dict, ...]
    findings_fixed: tuple[dict, ...]
    config: dict = field(default_factory=dict)
    tracked: dict | None = None  # every tracked file's status, when both sides are git revisions
    sections: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def file_counts(self) -> dict[str, int]:
        return _status_counts(self.files)

    def unit_counts(self) -> dict[str, int]:
        return _status_counts(u for u in self.units if u.kind != "class")

    def added_by_directory(self, status: str = "added") -> list[tuple[str, int]]:
        """Folders holding the files with this status, most first (shows a new component)."""
        counts = Counter(f.path.rsplit("/", 1)[0] if "/" in f.path else "."
                         for f in self.files if f.status == status)
        return _roll_up(counts)

    def to_dict(self) -> dict:
        a, b = self.totals
        return {
            "a": self.a, "b": self.b, "config": self.config,
            "totals": {"a": a, "b": b, "delta": _delta(a, b)},
            "file_counts": self.file_counts(), "unit_counts": self.unit_counts(),
            "tracked": self.tracked,
            "added_by_directory": [{"directory": d, "files": n} for d, n in self.added_by_directory()],
            "files": [f.to_dict() for f in self.files if f.status != "unchanged"],
            "units": [u.to_dict() for u in self.units if u.status != "unchanged"],
            "hotspots": {"new": [u.to_dict() for u in self.hotspots_new],
                         "fixed": [u.to_dict() for u in self.hotspots_fixed]},
            "findings": {"new": list(self.findings_new[:LIST_LIMIT]),
                         "fixed": list(self.findings_fixed[:LIST_LIMIT]),
                         "new_count": len(self.findings_new), "fixed_count": len(self.findings_fixed)},
            "warnings": list(self.warnings),
            **{name: s.to_dict() if hasattr(s, "to_dict") else s for name, s in sorted(self.sections.items())},
        }


def compare(a: Snapshot, b: Snapshot, hotspots: int = 10, config: dict | None = None) -> CompareResult:
    """Pair the files and units of A and B and measure what moved between them."""
    fa = {f.path: f for f in a.files}
    fb = {f.path: f for f in b.files}
    file_pairs, removed, added, similarity = _pair_files(a, b, fa, fb)
    unit_deltas, unit_map = _unit_deltas(a, b, file_pairs, removed, added, fa, fb)
    files = _file_deltas(file_pairs, removed, added, fa, fb, similarity)
    new, fixed = _hotspot_changes(a, b, unit_map, hotspots)
    f_new, f_fixed = _finding_changes(a, b, file_pairs)
    return CompareResult(
        a=a.label, b=b.label, totals=(project_totals(a.files, a.skipped), project_totals(b.files, b.skipped)),
        files=files, units=unit_deltas, hotspots_new=new, hotspots_fixed=fixed,
        findings_new=f_new, findings_fixed=f_fixed, config=config or {},
    )


def project_totals(files, skipped=()) -> dict:
    """Project-level numbers for one side. ``functions`` counts functions, methods and closures,
    tests included (as `audit scan`); complexity is over the ``functions_non_test``."""
    every = [u for f in files for u in f.functions]
    funcs = sorted(u.metrics.cyclomatic for u in every if not u.is_test)
    sloc = sum(f.lines.source for f in files)
    cats = Counter(x.category for f in files for x in f.findings if x.suppressed is None)
    poor = sum(f.poor_sloc for f in files)
    return {
        "files": len(files), "skipped": len(skipped), "sloc": sloc,
        "physical": sum(f.lines.physical for f in files),
        "units": sum(len(f.units) for f in files), "functions": len(every),
        "functions_non_test": len(funcs),
        "cyclomatic_mean": round(sum(funcs) / len(funcs), 3) if funcs else 0.0,
        "cyclomatic_p90": percentile(funcs, 0.9), "cyclomatic_max": funcs[-1] if funcs else 0,
        "poor_share": round(poor / sloc, 4) if sloc else 0.0,
        "findings": sum(cats.values()), "findings_by_category": dict(sorted(cats.items())),
    }


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0
    rank = max(1, -(-len(sorted_values) * q // 1))
    return sorted_values[int(rank) - 1]


def tracked_delta(a: dict[str, str], b: dict[str, str], measured: set[str]) -> dict:
    """Every tracked file (path -> blob id) by status, as `git diff --name-status --no-renames`
    counts them, with the files that were not measured (other languages, data, build files) named."""
    status = {}
    for p in a.keys() | b.keys():
        if p not in b:
            status[p] = "removed"
        elif p not in a:
            status[p] = "added"
        else:
            status[p] = "unchanged" if a[p] == b[p] else "changed"
    counts = Counter(status.values())
    others = sorted((s, p) for p, s in status.items() if s != "unchanged" and p not in measured)
    return {"counts": {s: counts.get(s, 0) for s in ("added", "removed", "changed", "unchanged")},
            "not_measured": [{"status": s, "path": p} for s, p in others]}


# --- files -------------------------------------------------------------------------------

def _pair_files(a: Snapshot, b: Snapshot, fa: dict, fb: dict):
    """Same path first, then exact content, then line-set similarity (renames); returns the
    pairs (B path -> A path), removed and added paths, and each rename's similarity."""
    pairs = {p: p for p in fb if p in fa}  # B path -> A path
    removed = [p for p in fa if p not in fb]
    added = [p for p in fb if p not in fa]
    by_sha = defaultdict(list)
    for p in removed:
        by_sha[fa[p].sha1].append(p)
    for p in list(added):
        if by_sha.get(fb[p].sha1):
            old = by_sha[fb[p].sha1].pop(0)
            pairs[p] = old
            removed.remove(old)
            added.remove(p)
    sets_a = {p: frozenset(h for h in a.lines.get(p, ()) if h) for p in removed}
    sets_b = {p: frozenset(h for h in b.lines.get(p, ()) if h) for p in added}
    similarity = {}
    for pb, pa, sim in _greedy_pairs(sets_b, sets_a, FILE_RENAME_MIN):
        pairs[pb] = pa
        similarity[pb] = sim
        removed.remove(pa)
        added.remove(pb)
    return pairs, removed, added, similarity


def _file_deltas(pairs: dict, removed: list, added: list, fa: dict, fb: dict,
                 similarity: dict) -> tuple[FileDelta, ...]:
    out = []
    for pb, pa in pairs.items():
        x, y = fa[pa], fb[pb]
        if pa != pb:
            status = "moved"
        else:
            status = "unchanged" if x.sha1 == y.sha1 else "changed"
        delta = _file_delta(status, pb, pa if pa != pb else "", x, y)
        out.append(replace(delta, similarity=similarity.get(pb, 1.0)))
    out += [_file_delta("removed", p, "", fa[p], None) for p in removed]
    out += [_file_delta("added", p, "", None, fb[p]) for p in added]
    out.sort(key=lambda d: (d.path, d.status))
    return tuple(out)


def _file_delta(status: str, path: str, old: str, x: FileResult | None, y: FileResult | None) -> FileDelta:
    def pair(fn):
        return (fn(x) if x else 0, fn(y) if y else 0)

    return FileDelta(
        status=status, path=path, old_path=old, language=(y or x).language,
        sloc=pair(lambda f: f.lines.source), units=pair(lambda f: len(f.units)),
        cyclomatic=pair(lambda f: f.cyclomatic),
        findings=pair(lambda f: sum(1 for g in f.findings if g.suppressed is None)),
    )


# --- units -------------------------------------------------------------------------------

def local_name(path: str, language: str, qualname: str) -> str:
    """A qualname without its module prefix, so it survives a file move."""
    walker = walker_for(language)
    parts = walker.module_path(path) if walker else []
    sep = "." if language == "python" else "::"
    prefix = sep.join(parts)
    if prefix and qualname.startswith(prefix + sep):
        return qualname[len(prefix) + len(sep):]
    return qualname


def _unit_deltas(a, b, pairs, removed, added, fa, fb):
    """Pair units by name inside file pairs, then leftovers across the project by content."""
    matched = []  # (path_a, unit_a, path_b, unit_b, status)
    left_a = [(p, u) for p in removed for u in fa[p].units]
    left_b = [(p, u) for p in added for u in fb[p].units]
    for pb, pa in pairs.items():
        got, la, lb = _pair_by_name(fa[pa], fb[pb])
        matched += [(pa, ua, pb, ub) for ua, ub in got]
        left_a += [(pa, u) for u in la]
        left_b += [(pb, u) for u in lb]
    moved = _pair_by_content(a, b, left_a, left_b)
    moved_a = {(p, id(u)) for p, u, _, _, _ in moved}
    moved_b = {(p, id(u)) for _, _, p, u, _ in moved}
    out, unit_map = [], {}
    for pa, ua, pb, ub in matched:
        same = a.unit_text_key(pa, ua) == b.unit_text_key(pb, ub)
        status = "unchanged" if same else "changed"
        out.append(_unit_delta(status, pa, ua, pb, ub, 1.0))
        unit_map[(pb, ub.qualname, ub.start_line)] = (pa, ua.qualname, ua.start_line)
    for pa, ua, pb, ub, sim in moved:
        out.append(_unit_delta("moved", pa, ua, pb, ub, sim))
        unit_map[(pb, ub.qualname, ub.start_line)] = (pa, ua.qualname, ua.start_line)
    out += [_unit_delta("removed", p, u, None, None, 0.0) for p, u in left_a if (p, id(u)) not in moved_a]
    out += [_unit_delta("added", None, None, p, u, 0.0) for p, u in left_b if (p, id(u)) not in moved_b]
    out.sort(key=lambda d: (d.path, d.start_line, d.qualname))
    return tuple(out), unit_map


def _pair_by_name(x: FileResult, y: FileResult):
    """Units with the same local name pair up in order of appearance."""
    def keyed(f):
        groups = defaultdict(list)
        for u in f.units:
            groups[(u.kind, local_name(f.path, f.language, u.qualname))].append(u)
        return groups

    ga, gb = keyed(x), keyed(y)
    pairs, left_a, left_b = [], [], []
    for key in ga.keys() | gb.keys():
        ua, ub = ga.get(key, []), gb.get(key, [])
        pairs += list(zip(ua, ub))
        left_a += ua[len(ub):]
        left_b += ub[len(ua):]
    return pairs, left_a, left_b


def _pair_by_content(a, b, left_a, left_b):
    """Leftover units whose line sets overlap enough: moved or renamed."""
    sets_a = {i: a.unit_lines(p, u) for i, (p, u) in enumerate(left_a) if u.kind != "class"}
    sets_b = {i: b.unit_lines(p, u) for i, (p, u) in enumerate(left_b) if u.kind != "class"}
    sets_a = {k: s for k, s in sets_a.items() if len(s) >= UNIT_MOVE_MIN_LINES}
    sets_b = {k: s for k, s in sets_b.items() if len(s) >= UNIT_MOVE_MIN_LINES}
    out = []
    for ib, ia, sim in _greedy_pairs(sets_b, sets_a, UNIT_MOVE_MIN):
        (pa, ua), (pb, ub) = left_a[ia], left_b[ib]
        out.append((pa, ua, pb, ub, sim))
    return out


def _greedy_pairs(sets_b: dict, sets_a: dict, threshold: float) -> list[tuple]:
    """Pairs (key_b, key_a, jaccard) above threshold, best first, each key used once.

    Candidates come from an inverted index over line hashes, leaving out lines
    common to many sets, so the cost follows the overlap, not |A| x |B|.
    """
    index = defaultdict(list)
    for ka, s in sets_a.items():
        for h in s:
            index[h].append(ka)
    scored = []
    for kb, s in sets_b.items():
        shared = Counter()
        for h in s:
            hits = index.get(h)
            if hits and len(hits) <= COMMON_LINE_DF:
                shared.update(hits)
        for ka, n in shared.items():
            union = len(s) + len(sets_a[ka]) - n
            sim = n / union if union else 0.0
            if sim >= threshold:
                scored.append((sim, kb, ka))
    scored.sort(key=lambda t: (-t[0], str(t[1]), str(t[2])))
    used_a, used_b, out = set(), set(), []
    for sim, kb, ka in scored:
        if ka not in used_a and kb not in used_b:
            used_a.add(ka)
            used_b.add(kb)
            out.append((kb, ka, sim))
    return out


def _unit_delta(status, pa, ua, pb, ub, sim) -> UnitDelta:
    def pair(fn):
        return (fn(ua) if ua else 0, fn(ub) if ub else 0)

    main, path = (ub, pb) if ub else (ua, pa)
    moved = status == "moved"
    return UnitDelta(
        status=status, path=path, qualname=main.qualname, kind=main.kind, start_line=main.start_line,
        old_path=pa if moved and pa != pb else "", old_qualname=ua.qualname if moved else "",
        similarity=sim, cyclomatic=pair(lambda u: u.metrics.cyclomatic),
        cognitive=pair(lambda u: u.metrics.cognitive), sloc=pair(lambda u: u.metrics.sloc),
    )


# --- hotspots and findings ---------------------------------------------------------------

def _top(snapshot: Snapshot, n: int) -> list[tuple[str, Unit]]:
    pairs = [(f.path, u) for f in snapshot.files for u in f.functions if not u.is_test]
    pairs.sort(key=lambda pu: (-pu[1].metrics.cyclomatic, -pu[1].metrics.cognitive,
                               -pu[1].metrics.sloc, pu[0], pu[1].start_line))
    return pairs[:n]


def _hotspot_changes(a: Snapshot, b: Snapshot, unit_map: dict, n: int):
    """New hotspots (in B's top n, not from A's top n) and fixed ones (the reverse)."""
    top_a, top_b = _top(a, n), _top(b, n)
    keys_a = {(p, u.qualname, u.start_line) for p, u in top_a}
    mapped_b = {unit_map.get((p, u.qualname, u.start_line)) for p, u in top_b}
    new = tuple(_unit_delta("new-hotspot", *_old(a, unit_map.get((p, u.qualname, u.start_line))), p, u, 1.0)
                for p, u in top_b if unit_map.get((p, u.qualname, u.start_line)) not in keys_a)
    back = {v: k for k, v in unit_map.items()}
    fixed = tuple(_unit_delta("fixed-hotspot", p, u, *_old(b, back.get((p, u.qualname, u.start_line))), 1.0)
                  for p, u in top_a if (p, u.qualname, u.start_line) not in mapped_b)
    return new, fixed


def _old(snapshot: Snapshot, key) -> tuple:
    """(path, unit) in a snapshot for a unit key, or (None, None)."""
    if key is None:
        return None, None
    path, qualname, start = key
    for f in snapshot.files:
        if f.path == path:
            for u in f.units:
                if u.qualname == qualname and u.start_line == start:
                    return path, u
    return None, None


def _finding_changes(a: Snapshot, b: Snapshot, pairs: dict):
    """Findings in B and not A (new) and the reverse (fixed), keyed without line numbers."""
    def key(f, path):
        return (f.rule, path, f.message)

    in_a = Counter(key(f, f.path) for f in _open_findings(a))
    in_b = Counter(key(f, pairs.get(f.path, f.path)) for f in _open_findings(b))
    new = [_finding_row(f) for f in _open_findings(b) if _take(in_a, key(f, pairs.get(f.path, f.path)))]
    fixed = [_finding_row(f) for f in _open_findings(a) if _take(in_b, key(f, f.path))]
    return tuple(new), tuple(fixed)


def _open_findings(s: Snapshot):
    return [x for f in s.files for x in f.findings if x.suppressed is None]


def _take(counter: Counter, key) -> bool:
    """True when key is not (or no longer) in counter; otherwise consume one."""
    if counter.get(key, 0) > 0:
        counter[key] -= 1
        return False
    return True


def _finding_row(f) -> dict:
    return {"rule": f.rule, "category": f.category, "severity": f.severity, "path": f.path,
            "line": f.line, "unit": f.unit, "message": f.message}


# --- helpers -----------------------------------------------------------------------------

def _status_counts(items) -> dict[str, int]:
    counts = Counter(x.status for x in items)
    return {s: counts.get(s, 0) for s in ("added", "removed", "changed", "moved", "unchanged")}


def _delta(a: dict, b: dict) -> dict:
    return {k: round(b[k] - a[k], 4) for k in a if isinstance(a[k], (int, float)) and k in b}


def _roll_up(counts: Counter) -> list[tuple[str, int]]:
    """Counts per folder cut at depth 3 (src/backend/armv7): enough to name a component."""
    merged = Counter()
    for folder, n in counts.items():
        merged["/".join(folder.split("/")[:3])] += n
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


# --- derivation: B's new files matched against A as a corpus ------------------------------

@dataclass(frozen=True)
class Derivation:
    """How much of B's new material derives from A, by folder, with the strongest evidence."""

    summary: str
    units: dict  # status -> count of B's functions: unchanged, changed, moved, added
    files_matched: int
    files_added: int
    verdicts: dict  # verdict -> number of added files
    by_source: tuple[dict, ...]  # B folder -> A folder (3 levels deep): lines covered, share
    by_subfolder: tuple[dict, ...]  # the same per file's own folder (armv7/linker <- i686/linker)
    examples: tuple[dict, ...]  # the strongest unit pairs, with channels and fragments
    provenance: dict  # the matcher's full report (same contract as `audit scan` provenance)

    def to_dict(self) -> dict:
        return {"summary": self.summary, "units": self.units, "files_added": self.files_added,
                "files_matched": self.files_matched, "verdicts": self.verdicts,
                "by_source": list(self.by_source), "by_subfolder": list(self.by_subfolder),
                "examples": list(self.examples),
                "provenance": self.provenance}

    def render_terminal(self, console) -> None:
        from audit.render.terminal import compact, hanging

        console.print(self.summary, markup=False, highlight=False)
        for indent, rows in (("  ", self.by_source[:6]), ("    ", self.by_subfolder[:4])):
            for s in rows:  # wrapped lines indented under their item
                hanging(console, f"{s['target']}/ <- {s['source']}/: {s['share']:.0%} of "
                                 f"{s['code_lines']:,} code lines ({s['files']} files)", indent, indent + "    ")
        for ex in self.examples[:5]:  # names and paths shortened: lines wrap between words
            hanging(console, compact(f"{ex['target']}  ~  {ex['source']}  score {ex['score']}  "
                                     f"{ex['evidence']}"), "  ", "      ")


def derivation(result: CompareResult, report, folder_of=None) -> Derivation:
    """Summarise a provenance report of B's added files against corpus A."""
    verdicts = Counter(f.verdict for f in report.files)
    by_source = _attribute(report, folder_of or _folder)
    by_subfolder = _attribute(report, lambda p: p.rpartition("/")[0] or ".")
    added = [f for f in result.files if f.status == "added"]
    matched = sum(1 for f in report.files if f.matches)
    units = result.unit_counts()
    return Derivation(_derivation_text(report, by_source, len(added), matched, units), units, matched,
                      len(added), dict(sorted(verdicts.items())), tuple(by_source[:20]),
                      tuple(by_subfolder[:20]), tuple(_examples(report)), report.to_dict())


def _attribute(report, folder_of) -> list[dict]:
    """Code lines of each B folder covered by each A folder: a file's covered lines (its
    score times its code lines) shared among the A files it matches by their scores."""
    attributed: dict[tuple[str, str], float] = defaultdict(float)
    lines_by_target: dict[str, int] = defaultdict(int)
    files_by_pair: dict[tuple[str, str], set] = defaultdict(set)
    for f in report.files:
        lines_by_target[folder_of(f.path)] += f.code_lines
        weights = sum(m.score for m in f.matches) or 1.0
        for m in f.matches:
            pair = (folder_of(f.path), folder_of(m.corpus_path))
            attributed[pair] += f.score * f.code_lines * m.score / weights
            files_by_pair[pair].add(f.path)
    return sorted(
        ({"target": t, "source": s, "code_lines": lines_by_target[t], "files": len(files_by_pair[(t, s)]),
          "covered_lines": round(v), "share": round(v / max(lines_by_target[t], 1), 4)}
         for (t, s), v in attributed.items()),
        key=lambda r: (-r["covered_lines"], r["target"], r["source"]))


def _derivation_text(report, by_source, added: int, matched: int, units: dict) -> str:
    same = units["unchanged"] + units["changed"] + units["moved"]
    text = (f"{same:,} of B's {same + units['added']:,} functions come from A (unchanged, edited "
            f"or moved). Of {added} added file(s), {matched} match A: line-weighted score "
            f"{report.score:.0%}, verdict {report.verdict}.")
    if by_source:
        top = by_source[0]
        text += (f" Strongest source: {top['source']}/ covers {top['share']:.0%} of the code lines "
                 f"of {top['target']}/.")
    return text


def _examples(report, n: int = 12) -> list[dict]:
    rows = []
    for f in report.files:
        for m in f.matches[:1]:
            for u in m.units[:2]:
                lo, hi = u["lines"]
                frag = next((x for x in m.evidence if x.lines[0] <= hi and x.lines[1] >= lo), None)
                where = (f"lines {frag.lines[0]}-{frag.lines[1]} ~ {frag.corpus_lines[0]}-"
                         f"{frag.corpus_lines[1]} ({frag.kind}, {frag.fingerprints} fingerprints)"
                         if frag else "")
                channels = ", ".join(f"{k} {v:.2f}" for k, v in sorted(u["channels"].items()))
                rows.append({"target": f"{f.path}:{u['lines'][0]} {u['unit']}",
                             "source": f"{m.corpus_path}:{u['corpus_lines'][0]} {u['corpus_unit']}",
                             "score": u["score"], "evidence": f"{channels}; {where}".strip("; ")})
    rows.sort(key=lambda r: (-r["score"], r["target"]))
    return rows[:n]


def _folder(path: str) -> str:
    return "/".join(path.split("/")[:-1][:3]) or "."
