"""Group evidence fragments that show one passage, so a repeated routine is one item, not four.

Two fragments belong to one group when they overlap on either side: the same
corpus file and overlapping corpus lines (one corpus passage found at several
audited places, e.g. a standard LEB128 decoder written out four times), or the
same audited file and overlapping audited lines (one audited shape found at
several corpus places, or several channels seeing one passage). Fragments of
one file pair that lie as close on both sides as one channel's run may have
gaps (``AUDITED_GAP``, ``CORPUS_GAP``, as in audit.provenance.match) are one
passage too. Groups are the connected components of these relations. Each
group is labelled with how many distinct places it spans on each side, and
keeps every instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.disjoint import DisjointSets

AUDITED_GAP = 3  # lines between two pieces of one passage in the audited file
CORPUS_GAP = 8  # and in the corpus file (the gaps a fragment's run bridges)


@dataclass
class Instance:
    """One fragment with the two files it pairs."""

    path: str
    corpus: str
    corpus_path: str
    fragment: object  # audit.provenance.match.Fragment

    def to_dict(self) -> dict:
        return {"path": self.path, "corpus": self.corpus, "corpus_path": self.corpus_path,
                **self.fragment.to_dict()}


@dataclass
class Group:
    """Fragments showing one passage; the first instance is the least likely to be chance."""

    id: int
    instances: list[Instance] = field(default_factory=list)

    @property
    def places(self) -> int:
        """Distinct audited places: overlapping audited spans of one file are one place."""
        return _places(((i.path, i.fragment.lines) for i in self.instances), AUDITED_GAP)

    @property
    def corpus_places(self) -> int:
        return _places((((i.corpus, i.corpus_path), i.fragment.corpus_lines) for i in self.instances),
                       CORPUS_GAP)

    @property
    def label(self) -> str:
        return group_label(self.places, self.corpus_places)

    def to_dict(self) -> dict:
        top = self.instances[0].fragment
        return {"id": self.id, "label": self.label, "places": self.places,
                "corpus_places": self.corpus_places,
                "channels": sorted({i.fragment.kind for i in self.instances}),
                "fingerprints": max(i.fragment.fingerprints for i in self.instances),
                "expected_chance": top.to_dict()["expected_chance"],
                "beyond_calibration": top.beyond_calibration,
                "instances": [i.to_dict() for i in self.instances]}


def group_label(places: int, corpus_places: int) -> str:
    """'one passage, 4 places' and the like: what a reader counts as one piece of evidence."""
    if corpus_places == 1:
        return "one passage, one place" if places == 1 else f"one passage, {places} places"
    if places == 1:
        return f"one passage, {corpus_places} corpus places"
    return f"{places} places, {corpus_places} corpus places"


def _places(spans, gap: int) -> int:
    """Connected runs of (start, end) spans, per key, overlapping or at most ``gap`` lines apart."""
    by_key: dict = {}
    for key, span in spans:
        by_key.setdefault(key, []).append(span)
    n = 0
    for rows in by_key.values():
        end = None
        for a, b in sorted(rows):
            if end is None or a > end + gap:
                n += 1
                end = b
            else:
                end = max(end, b)
    return n


def _link_overlaps(sets: DisjointSets, keyed: list[tuple]) -> None:
    """Join instances whose spans overlap under one key: rows are (key, start, end, number)."""
    end, first, last_key = None, None, object()
    for key, a, b, i in sorted(keyed):
        if key != last_key or a > end:
            last_key, end, first = key, b, i
        else:
            sets.union(first, i)
            end = max(end, b)


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Lines between two spans (0 when they overlap or touch)."""
    return max(0, max(a[0], b[0]) - min(a[1], b[1]))


def _close(a: tuple, b: tuple) -> bool:
    """Two (audited span, corpus span) boxes of one file pair that are one passage."""
    return _gap(a[0], b[0]) <= AUDITED_GAP and _gap(a[1], b[1]) <= CORPUS_GAP


def _boxes(sets: DisjointSets, instances: list[Instance], members: list[int]) -> dict[int, tuple]:
    """Per group (its root), the audited and corpus spans its fragments in one file pair cover."""
    out: dict[int, tuple] = {}
    for n in members:
        f, root = instances[n].fragment, sets.find(n)
        (a0, a1), (c0, c1) = out.get(root, (f.lines, f.corpus_lines))
        out[root] = ((min(a0, f.lines[0]), max(a1, f.lines[1])),
                     (min(c0, f.corpus_lines[0]), max(c1, f.corpus_lines[1])))
    return out


def _link_neighbours(sets: DisjointSets, instances: list[Instance]) -> None:
    """Join the pieces of one file pair that lie close to each other on both sides (another
    channel's run beside a passage, the signature line just above a matched body)."""
    pairs: dict[tuple, list[int]] = {}
    for n, i in enumerate(instances):
        pairs.setdefault((i.path, i.corpus, i.corpus_path), []).append(n)
    for members in pairs.values():  # a match keeps at most 20 fragments: repeated pairing is cheap
        joined = True
        while joined:
            joined = False
            boxes = list(_boxes(sets, instances, members).items())
            for x, (r, box) in enumerate(boxes):
                other = next((q for q, b in boxes[x + 1:] if _close(box, b)), None)
                if other is not None:
                    sets.union(r, other)
                    joined = True
                    break


def _strength(inst: Instance) -> tuple:
    f = inst.fragment
    chance = f.expected_chance if f.expected_chance is not None else float("inf")
    return (chance, -f.fingerprints, inst.path, f.lines, f.kind, inst.corpus_path, f.corpus_lines)


def group_instances(instances: list[Instance]) -> list[Group]:
    """Groups, strongest first (least expected by chance); sets each fragment's ``group``."""
    sets = DisjointSets(len(instances))
    _link_overlaps(sets, [(i.path, *i.fragment.lines, n) for n, i in enumerate(instances)])
    _link_overlaps(sets, [((i.corpus, i.corpus_path), *i.fragment.corpus_lines, n)
                          for n, i in enumerate(instances)])
    _link_neighbours(sets, instances)
    members: dict[int, list[Instance]] = {}
    for n, inst in enumerate(instances):
        members.setdefault(sets.find(n), []).append(inst)
    ranked = sorted((sorted(m, key=_strength) for m in members.values()), key=lambda m: _strength(m[0]))
    groups = []
    for gid, rows in enumerate(ranked):
        for inst in rows:
            inst.fragment.group = gid
        groups.append(Group(gid, rows))
    return groups


def group_files(files) -> list[Group]:
    """Group the evidence of every file report (audit.provenance.verdict.FileReport)."""
    return group_instances([Instance(f.path, m.corpus, m.corpus_path, ev)
                            for f in files for m in f.matches for ev in m.evidence])
