"""`audit scan` extension: the --html DIR and --sarif FILE outputs.

The report pages show source lines, so the files are read again, through the
walker's own discovery and reader (the walker stays the only reader of the
audited tree); a file that changed since it was measured is flagged on its page.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

from audit.walk import git_blob_sha1


def add_options(parser: argparse.ArgumentParser) -> None:
    """Options for the report outputs."""
    parser.add_argument("--html", metavar="DIR",
                        help="write a self-contained HTML report into DIR (open DIR/index.html)")
    parser.add_argument("--html-single", metavar="FILE",
                        help="write the whole HTML report as one self-contained file, to attach "
                             "to a mail or a ticket (it needs JavaScript to show its pages)")
    parser.add_argument("--sarif", metavar="FILE", help="write findings as SARIF 2.1.0 to FILE")
    parser.add_argument("--sarif-help-uri", metavar="TEMPLATE", default="",
                        help="help URI of each SARIF rule, with {rule} for the rule id "
                             "(default: the rule's page in the --html report, else its rule file)")
    parser.add_argument("--spdx", metavar="FILE",
                        help="write the provenance determination and evidence as SPDX 2.3 JSON")
    parser.add_argument("--markdown", metavar="FILE",
                        help="write a Markdown summary for a decision memo (determination, scope, "
                             "strongest evidence, hotspots)")
    parser.add_argument("--csv", metavar="DIR",
                        help="write matches, evidence, files, hotspots, findings and files not "
                             "checked as CSV tables into DIR")


def configure(args: argparse.Namespace, config, job):
    """Refuse an unusable --html folder before any file is read."""
    if getattr(args, "html", None):
        from audit.render.outpaths import check_dir

        check_dir("--html", args.html)
    return job


def write_outputs(args: argparse.Namespace, result, console) -> None:
    """Write the HTML report and the SARIF file when asked for."""
    if getattr(args, "html", None):
        from audit.render import html

        from audit.render.progress import phase

        started = time.perf_counter()
        sources = html.file_sources(result, source_reader(args))
        try:
            with phase("writing the HTML report", enabled=_shown(args)) as tick:
                stats = html.write_report(result, args.html, sources, rule_metadata(args),
                                          corpus_reader(result), progress=tick)
        except OSError as exc:
            from audit.render.outpaths import write_failed

            raise write_failed("--html", args.html, exc) from exc
        if not args.quiet:
            console.print(f"HTML report written to {args.html}/index.html ({stats.pages:,} pages, "
                          f"{stats.bytes / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
    if getattr(args, "html_single", None):
        _write_single(args, result, console)
    if getattr(args, "sarif", None):
        from audit.commands.scan import write_output
        from audit.render import sarif

        doc = sarif.dumps(result, rule_metadata(args), help_uri(args))
        write_output("--sarif", args.sarif, doc)
        if not args.quiet:
            console.print(f"SARIF written to {args.sarif}")
    write_exports(args, result, console)


def _write_single(args: argparse.Namespace, result, console) -> None:
    from audit.render import html
    from audit.render.progress import phase
    from audit.render.single import write_single

    sources = html.file_sources(result, source_reader(args))
    try:
        with phase("writing the single-file report", enabled=_shown(args)) as tick:
            stats = write_single(result, args.html_single, sources, rule_metadata(args),
                                 corpus_reader(result), progress=tick)
    except OSError as exc:
        from audit.render.outpaths import write_failed

        raise write_failed("--html-single", args.html_single, exc) from exc
    if not args.quiet:
        console.print(f"single-file HTML report written to {args.html_single} "
                      f"({stats.pages:,} pages, {stats.bytes / 1e6:.1f} MB)")


def write_exports(args: argparse.Namespace, result, console) -> None:
    """The --spdx, --markdown and --csv exports (audit.render.spdx, markdown, csvout)."""
    from audit.render import json as json_render

    done = []
    if getattr(args, "spdx", None):
        from audit.render import spdx

        json_render.write_atomic(args.spdx, spdx.dumps(result, source_reader(args)))
        done.append(f"SPDX written to {args.spdx}")
    if getattr(args, "markdown", None):
        from audit.render.markdown import to_markdown

        json_render.write_atomic(args.markdown, to_markdown(result, args.hotspots))
        done.append(f"Markdown written to {args.markdown}")
    if getattr(args, "csv", None):
        from audit.render.csvout import write_csv

        names = write_csv(result, args.csv, args.hotspots)
        done.append(f"CSV written to {args.csv} ({', '.join(names)})")
    for line in done if not args.quiet else ():
        console.print(line)


def source_reader(args: argparse.Namespace):
    """path -> bytes of an audited file (None when it can no longer be read), via the walker."""
    from audit.commands.scan import build_config
    from audit.walk import SourceFile, discover, read_source

    config = build_config(args)
    if config.extra.get("revision"):  # REPO@REV: the pinned commit's blobs
        from audit.revscan import reader, unless_unreadable

        return unless_unreadable(reader(config.extra["revision"], config.max_file_size))
    candidates = {c.path: c for c in discover(config).candidates}

    def read(path: str) -> bytes | None:
        cand = candidates.get(path)
        if cand is None:
            return None
        source = read_source(cand, config.max_file_size)
        return source.data if isinstance(source, SourceFile) else None

    return read


def rule_metadata(args: argparse.Namespace | None = None) -> dict[str, dict]:
    """Rule id -> name, code, category, severity, summary, docs, language and pack file.

    Taken from the registry the scan used (or the bundled packs); empty when the
    rules stage is not installed, and the report then shows occurrences only.
    """
    state = getattr(args, "_rules_state", None) or {}
    reg = state.get("registry")
    if reg is None:
        try:
            registry = importlib.import_module("audit.rules.registry")
        except ModuleNotFoundError as exc:
            if exc.name not in ("audit.rules", "audit.rules.registry"):
                raise
            return {}
        reg = registry.load()
    meta: dict[str, dict] = {}
    from audit.rules.registry import shared_ids

    shared = shared_ids(reg.rules)
    for r in sorted(reg.rules, key=lambda r: (r.id, r.language)):
        # an id several packs use: one page per language (see registry.rule_key)
        key = f"{r.language}/{r.id}" if r.id in shared else r.id
        meta[key] = {"name": r.id, "code": r.code, "category": r.category,
                     "severity": r.severity, "summary": r.summary, "language": r.language,
                     "path": r.path, "docs": _docs_text(r.docs)}
    return meta


def _docs_text(docs: dict) -> dict[str, str]:
    """Rule documentation sections as text (lists, such as references, one item a line)."""
    return {str(k): "\n".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in docs.items()}


def corpus_reader(result):
    """match record -> corpus file text, for the provenance side-by-side view.

    Uses the provenance section's own ``corpus_text`` when it has one; otherwise reads
    the matched files from the corpus sources the section names, and shows a file only
    when its git blob id equals the match's SWHID (so the text is the indexed file).
    """
    section = result.sections.get("provenance")
    if section is None:
        return None
    reader = getattr(section, "corpus_text", None)
    if callable(reader):
        return reader
    data = section.to_dict() if hasattr(section, "to_dict") else section
    return CorpusFiles(data).text


class CorpusFiles:
    """The corpus files that provenance matches point at, read once from their sources."""

    def __init__(self, prov: dict):
        self.wanted: dict[str, dict[str, str]] = {}  # corpus -> label -> blob sha1
        for f in prov.get("files", []):
            for m in f.get("matches", []):
                sha = str(m.get("swhid", "")).rpartition(":")[2]
                self.wanted.setdefault(str(m.get("corpus")), {})[str(m.get("corpus_path"))] = sha
        self.sources = {str(c.get("name")): list(c.get("sources") or [])
                        for c in prov.get("corpora", [])}
        self.found: dict[tuple[str, str], str] | None = None

    def text(self, match: dict) -> str | None:
        if self.found is None:
            self.found = {}
            for corpus, labels in sorted(self.wanted.items()):
                self._load(corpus, labels)
        return self.found.get((str(match.get("corpus")), str(match.get("corpus_path"))))

    def _load(self, corpus: str, labels: dict[str, str]) -> None:
        sources = self.sources.get(corpus, [])
        for src in sources:
            prefix = os.path.basename(src.rstrip("/")) + "/" if len(sources) > 1 else ""
            mine = {label[len(prefix):]: label for label in labels if label.startswith(prefix)}
            for rel, data in _read_members(src, mine):
                label = mine[rel]
                if git_blob_sha1(data) == labels[label]:
                    self.found[(corpus, label)] = data.decode("utf-8", "replace")


def _read_members(src: str, wanted: dict[str, str]):
    """(relative path, bytes) of the wanted files of a corpus source: folder or archive."""
    if not wanted:
        return
    if os.path.isdir(src):
        root = os.path.realpath(src)
        for rel in sorted(wanted):
            full = os.path.realpath(os.path.join(root, rel))
            if full.startswith(root + os.sep) and os.path.isfile(full):
                with open(full, "rb") as fh:
                    yield rel, fh.read()
    elif os.path.isfile(src):
        yield from _archive_members(src, wanted)


def _archive_members(path: str, wanted: dict[str, str]):
    """Wanted members of a .zip or tar archive, streamed; other members are never read."""
    import tarfile
    import zipfile

    from audit.provenance.sources import safe_label

    left = set(wanted)
    try:
        if path.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    label = safe_label(info.filename)
                    if label in left and not info.is_dir():
                        left.discard(label)
                        yield label, zf.read(info)
            return
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tf:
            for m in tf:
                label = safe_label(m.name)
                if m.isfile() and label in left:
                    left.discard(label)
                    fh = tf.extractfile(m)
                    yield label, fh.read() if fh is not None else b""
                    if not left:
                        return
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError):
        return  # an unreadable corpus source: the panes say the text is not available


def help_uri(args: argparse.Namespace) -> str:
    """The SARIF help URI template: given, else the rule page of the HTML report."""
    if args.sarif_help_uri:
        return args.sarif_help_uri
    if getattr(args, "html", None):
        import pathlib

        return pathlib.Path(os.path.abspath(args.html)).as_uri() + "/{page}"
    return ""


def _shown(args) -> bool:
    """Progress is drawn unless the command was asked to be quiet."""
    return not getattr(args, "quiet", False)
