"""A whole HTML report in one file (``--html-single FILE``), to attach to a mail or a ticket.

The report is rendered as usual into a scratch folder, then packed: the stylesheet
and the script inline, each page's content in a ``<template>`` that the report
script mounts when the address names it (``#/PAGE/ANCHOR``). The Content Security
Policy allows exactly that stylesheet and that script, by their SHA-256 hashes, so
the file keeps the folder report's guarantees: nothing remote, no other script.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass

from markupsafe import Markup

from audit.render.html import NAV, ReportStats, environment, write_report

_TITLE = re.compile(r"<title>(.*?) · audit report</title>", re.S)
_MAIN = re.compile(r"<main>\n?(.*)</main>", re.S)
_DATA = re.compile(r"</footer>\n(.*?)<script src=", re.S)
_ACTIVE = re.compile(r'<a href="([^"]+)" class="active"')
_ASSET = re.compile(r'(?:href|src)="(report\.[0-9a-f]{12}\.(?:css|js))"')


@dataclass(frozen=True)
class PackedPage:
    name: str
    title: str
    nav: str  # the navigation entry the page belongs to
    html: Markup  # the page's content and data blocks, as the folder report has them


def write_single(result, path: str, sources, rule_meta=None, corpus_text=None,
                 progress=None) -> ReportStats:
    """Render the report and pack it into one HTML file at path; returns pages and bytes."""
    from audit.render.json import write_atomic

    with tempfile.TemporaryDirectory(prefix="audit-single-") as tmp:
        stats = write_report(result, tmp, sources, rule_meta, corpus_text, progress)
        text = pack(tmp, result)
    write_atomic(path, text)
    return ReportStats(stats.pages, len(text.encode("utf-8")))


def pack(folder: str, result) -> str:
    """One HTML document holding every page of the report in folder, index first."""
    names = sorted((n for n in os.listdir(folder) if n.endswith(".html")),
                   key=lambda n: (n != "index.html", n))
    pages = [_page(n, _read(folder, n)) for n in names]
    index = _read(folder, "index.html")
    assets = {n.rsplit(".", 1)[1]: n for n in _ASSET.findall(index)}
    css, js = _read(folder, assets["css"]), _read(folder, assets["js"])
    csp = (f"default-src 'none'; style-src '{_digest(css)}'; script-src '{_digest(js)}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return environment().get_template("single.html.j2").render(
        csp=csp, css=Markup(css), js=Markup(js), pages=pages, nav=NAV,
        created=result.created, tool_version=result.tool_version)


def _page(name: str, html: str) -> PackedPage:
    title = _TITLE.search(html)
    main = _MAIN.search(html)
    data = _DATA.search(html)
    active = _ACTIVE.search(html)
    body = (main.group(1) if main else "") + (data.group(1) if data else "")
    return PackedPage(name, title.group(1) if title else name, active.group(1) if active else name,
                      Markup(body))


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _read(folder: str, name: str) -> str:
    with open(os.path.join(folder, name), encoding="utf-8") as fh:
        return fh.read()
