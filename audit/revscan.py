"""`audit scan REPO@REV`: the files of one git revision, read from git objects.

Nothing is checked out and nothing is written into the repository. The revision is
resolved once (``pin``) and every later reader (the C files provenance compares,
the HTML pages, SPDX checksums) reads that commit, so a branch that moves during
a run cannot mix two trees. Audited code is untrusted: symlinks and submodules are
listed as not checked and never followed, a blob's size is read from its object
header before it is inflated, and the per-file limits of a folder scan apply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from audit.errors import InputError, UsageError
from audit.gitsource import REGULAR_FILE, SUBMODULE, SYMLINK, GitSource, RepoRev, is_git_repo
from audit.lang import language_for
from audit.walk import (OTHERS_LISTED, Discovery, SkippedFile, _option_spec, display_path,
                        filtered_out, matchable)


@dataclass(frozen=True)
class BlobCandidate:
    """A file of the revision to analyse: its repository path and where its bytes are."""

    path: str  # the repository path, as reports show it
    language: str
    blob: str
    size: int | None  # from the object header; None when it could not be read there
    repo: str


def revision_spec(paths) -> RepoRev | None:
    """The REPO@REV a scan names, or None for folders and files.

    A path that exists is always a folder or file. Otherwise ``A@B`` with ``A`` a
    folder is REPO@REV, and A must be a git repository.
    """
    found = [rr for rr in (_spec(p) for p in paths) if rr is not None]
    if found and len(paths) > 1:
        raise UsageError(f"{found[0]} is a git revision: it is scanned on its own",
                         "scan one REPO@REV at a time, or name folders and files only")
    return found[0] if found else None


def _spec(path: str) -> RepoRev | None:
    if os.path.lexists(path) or "@" not in path:
        return None
    repo, _, rev = path.rpartition("@")
    if not repo or not os.path.isdir(repo):
        raise InputError(f"path does not exist: {path}",
                         "name a folder or file, or REPO@REV with REPO a git repository")
    if not is_git_repo(repo):
        raise InputError(f"{repo} is not a git repository, so {path} cannot be read as REPO@REV",
                         "name a git repository (bare or with a work tree) before the @")
    if not rev:
        raise InputError(f"no revision after the @ in {path}",
                         "add a branch, tag, commit id or REV~N: REPO@HEAD")
    return RepoRev(repo, rev)


def pin(rr: RepoRev) -> dict:
    """Resolve the revision once: repository, rev as given, commit and tree ids."""
    with GitSource(rr.repo) as src:
        commit = src.resolve(rr.rev)
        tree = src.commit_info(commit).tree
    return {"repo": rr.repo, "rev": rr.rev, "commit": commit, "tree": tree}


class RevisionTree:
    """A pinned revision as the scanned tree (see audit.pipeline.scan's ``tree``)."""

    def __init__(self, revision: dict):
        self.revision = revision

    @staticmethod
    def analyse(args: tuple[BlobCandidate, object]):
        return analyse_blob(args)

    def discover(self, config, on_found=None) -> Discovery:
        """The revision's files as the walker would find them in a checkout, minus what
        git does not hold as a regular file (symlinks and submodules: not checked)."""
        filters = _Filters(config)
        candidates: list[BlobCandidate] = []
        skipped: list[SkippedFile] = []
        others: list[str] = []
        with GitSource(self.revision["repo"]) as src:
            for path, blob, kind in src.entries(self.revision["tree"], filters.keep_dir):
                found = self._sort(src, path, blob, kind, filters)
                if isinstance(found, str):
                    if len(others) < OTHERS_LISTED:
                        others.append(found)
                elif isinstance(found, SkippedFile):
                    skipped.append(found)
                elif found is not None:
                    candidates.append(found)
                    if on_found and len(candidates) == on_found[0]:
                        on_found[1](list(candidates))  # the scan starts its workers now
        return Discovery(tuple(candidates), tuple(skipped),
                         (f"{self.revision['repo']}@{self.revision['rev']}",), tuple(others))

    def _sort(self, src, path, blob, kind, filters) -> BlobCandidate | SkippedFile | str | None:
        """One tree entry as the walker sorts a file: read, listed as skipped, named as a file
        in no language the audit reads (its path), or passed over."""
        if not filters.wanted(path):
            return None
        if kind in (SYMLINK, SUBMODULE):
            return _not_followed(path, blob, kind)
        if kind != REGULAR_FILE:
            return None
        lang = language_for(path)
        if lang is None:
            return display_path(path)
        if lang.name not in filters.audited:
            return SkippedFile(display_path(path), "language-not-audited", f"{lang.name} source")
        return BlobCandidate(display_path(path), lang.name, blob, src.blob_size(blob), self.revision["repo"])


class _Filters:
    """The walker's choices for a path: skipped folders, --exclude, --include, languages."""

    def __init__(self, config):
        self.skip_dirs = set(config.skip_dirs)
        self.audited = set(config.languages)
        self.include = _option_spec("--include", config.include)
        self.exclude = _option_spec("--exclude", config.exclude)

    def keep_dir(self, path: str) -> bool:
        name = path.rstrip("/").rsplit("/", 1)[-1]
        return name not in self.skip_dirs and not (self.exclude and self.exclude.match_file(matchable(path)))

    def wanted(self, path: str) -> bool:
        return not filtered_out(path, self.include, self.exclude)


def _not_followed(path: str, target: str, kind: int) -> SkippedFile:
    if kind == SUBMODULE:
        return SkippedFile(display_path(path), "submodule",
                           f"submodule at commit {target}; its files are in another repository")
    return SkippedFile(display_path(path), "symlink", "symbolic link; links are not followed in a git revision")


# --- per file, in the workers ------------------------------------------------------------

_OPEN: dict = {}  # this process's open repository (dulwich handles do not survive a fork)


def _source(repo: str) -> GitSource:
    if _OPEN.get("pid") != os.getpid() or _OPEN.get("repo") != repo:
        close_sources()
        _OPEN.update(pid=os.getpid(), repo=repo, source=GitSource(repo))
    return _OPEN["source"]


def close_sources() -> None:
    """Close this process's repository handle (the parent's, after an in-process scan)."""
    if _OPEN.get("pid") == os.getpid():  # a handle inherited through a fork is left alone
        _OPEN["source"].close()
    _OPEN.clear()


def analyse_blob(args: tuple[BlobCandidate, object]):
    """Read one blob (refused before inflating when its header says it is too large) and
    analyse it as pipeline.analyse_candidate does a file."""
    from audit.pipeline import analyse_read
    from audit.walk import source_from_bytes

    cand, job = args
    limit = job.max_file_size
    if cand.size is not None and cand.size > limit:
        return SkippedFile(cand.path, "too-large", f"{cand.size} bytes > limit {limit}"), {}
    try:
        data = _source(cand.repo).read_blob(cand.blob)
    except Exception as exc:  # noqa: BLE001 - a missing or corrupt object is one file's problem
        return SkippedFile(cand.path, "unreadable", f"git object {cand.blob}: {type(exc).__name__}"), {}
    return analyse_read(cand.path, source_from_bytes(cand.path, cand.language, data, limit, cand.blob), job)


# --- reading after the scan ---------------------------------------------------------------

def reader(revision: dict, max_size: int) -> Callable[[str], bytes]:
    """path -> bytes of a regular file of the pinned revision; OSError when the path is not
    one (FileNotFoundError), or is larger than ``max_size`` (walk.TooLarge)."""
    shown: dict[str, tuple[str, int]] = {}  # reports' paths, for names shown with escapes

    def find(path: str) -> tuple[str, int] | None:
        hit = _source(revision["repo"]).lookup(revision["tree"], path)
        if hit is None and "\\" in path:
            if not shown:
                with GitSource(revision["repo"]) as src:
                    shown.update((display_path(p), (b, k)) for p, b, k in src.entries(revision["tree"], _any))
            hit = shown.get(path)
        return hit

    def read(path: str) -> bytes:
        blob, kind = find(path) or ("", 0)
        if kind != REGULAR_FILE:
            raise FileNotFoundError(f"{path}: not a regular file at {revision['commit'][:12]}")
        return _source(revision["repo"]).read_blob(blob, max_size)  # refused from its header

    return read


def _any(path: str) -> bool:
    return True


def unless_unreadable(read: Callable[[str], bytes]) -> Callable[[str], bytes | None]:
    """A reader that answers None where ``read`` raises OSError (what the renderers expect)."""
    def get(path: str) -> bytes | None:
        try:
            return read(path)
        except OSError:
            return None

    return get


def revision_of(config: dict) -> dict | None:
    """The pinned revision recorded in a result's configuration, if the scan read one."""
    rev = config.get("revision") if config else None
    return rev if isinstance(rev, dict) and rev.get("commit") else None
