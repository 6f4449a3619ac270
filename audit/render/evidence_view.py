"""Evidence fragments and their groups as every renderer shows them: the chance figure, the label.

Read from the provenance JSON contract (``evidence_groups`` and each fragment's
``expected_chance`` and ``group``), so the terminal, HTML, Markdown, CSV and
SPDX outputs say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.provenance.chance import describe, legend
from audit.render.highlight import visible

__all__ = ["GroupView", "chance_text", "folded", "group_views", "groups_by_id", "legend", "passage_text",
           "place_text", "repeated"]


def chance_text(ev: dict) -> str:
    """A fragment's expected number of chance look-alikes, as text ("" when not calibrated)."""
    value = ev.get("expected_chance")
    if value is None:
        return ""
    return describe(float(value), bool(ev.get("beyond_calibration")))


def folded(evidence: list[dict]) -> list[tuple[dict, int]]:
    """Fragments with each group's later ones folded into its first (the strongest, as the
    fragments come sorted): (fragment, how many were folded into it), in the given order."""
    firsts: dict = {}
    out: list[list] = []
    for ev in evidence:
        gid = ev.get("group")
        if gid is not None and gid in firsts:
            out[firsts[gid]][1] += 1
            continue
        if gid is not None:
            firsts[gid] = len(out)
        out.append([ev, 0])
    return [(ev, n) for ev, n in out]


def groups_by_id(prov: dict | None) -> dict[int, dict]:
    return {int(g["id"]): g for g in (prov or {}).get("evidence_groups", [])}


def place_text(inst: dict) -> str:
    a, b = inst["lines"]
    ca, cb = inst["corpus_lines"]
    return f"{inst['path']} {a}-{b} ~ {inst['corpus']}: {inst['corpus_path']} {ca}-{cb} ({inst['kind']})"


def passage_text(group: dict | None) -> str:
    """A fragment's passage as a table cell: its group's label and size, "" for a lone fragment."""
    if not group:
        return ""
    n = len(group["instances"])
    if repeated(group):
        return f"{group['label']} ({n} fragments)"
    return f"one place, {n} fragments" if n > 1 else ""


def repeated(group: dict | None) -> bool:
    """A group worth labelling: more than one place on either side."""
    return bool(group) and (group["places"] > 1 or group["corpus_places"] > 1)


@dataclass(frozen=True)
class GroupView:
    """One passage found in several places: its label, strongest instance and every place."""

    label: str
    first: str
    channels: str
    chance: str
    fingerprints: str
    places: list[str]


def group_views(prov: dict | None, limit: int = 50) -> list[GroupView]:
    """The groups spanning several places, strongest first."""
    out = []
    for g in (prov or {}).get("evidence_groups", []):
        if not repeated(g):
            continue
        inst = g["instances"]
        out.append(GroupView(visible(g["label"]), visible(place_text(inst[0])), ", ".join(g["channels"]),
                             chance_text(g), str(g["fingerprints"]),
                             [visible(place_text(i)) for i in inst]))
        if len(out) == limit:
            break
    return out
