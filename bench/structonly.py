"""Structure-only copies of Rust and Python trees, as ../shared/eval/DEV-SET.md defines them.

    python bench/structonly.py SRC DEST

DEST receives every file of SRC. Rust (.rs) and Python (.py, .pyi) files are
rewritten; every other file (C sources, manifests, docs) is copied unchanged.
In a rewritten file
  - comments and docstrings are removed (their newlines kept; a docstring that is
    a block's only statement becomes `pass`),
  - string literals are blanked with their prefix and quotes kept (`b""`, `r#""#`,
    `f""`; an f-string loses its interpolations too); char literals and ABI names
    (`extern "C"`) are kept,
  - every identifier that is not a keyword or a standard-library/builtin name is
    renamed to an opaque name, `zzab` (`Zzab` when the name starts upper-case;
    leading underscores kept), the same name to the same opaque name in every file
    of the tree: definitions, uses, fields, methods, macro names, identifiers in
    macro bodies (token trees) and `$metavariables`,
  - numbers, punctuation, whitespace and newlines stay, so every line keeps its number.
The names kept are data in structonly_names.toml (documented there), plus names the
tree itself takes from the standard library: the segments of `std::`/`core::`/
`alloc::`/`libc::` paths and `use` declarations, and in Python the names imported
from a standard-library module and the attributes read through one (`os.path.join`).
A name the tree defines (an item, field, variant, function, class, assigned
attribute or module of its own) is renamed even when a list holds it: a port's
`fn next` or `self.code` is the author's name, not the standard library's.
Decisions are per name, never per occurrence, so one name has one opaque name.

Every output file is parsed again; the tool prints, per language, the error nodes
(ERROR or MISSING) of the input and of the output, and names any file that gained
some. The exit status is 1 when a file gained error nodes.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import keyword
import os
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("structonly_names.toml")
LANGUAGES = {".rs": "rust", ".py": "python", ".pyi": "python"}
SKIP_DIRS = {".git", ".hg", ".svn"}
RUST_IDENTIFIERS = {"identifier", "type_identifier", "field_identifier",
                    "shorthand_field_identifier"}
RUST_RAW_STRINGS = {"raw_string_literal"}
PY_DOC_OWNERS = {"module", "function_definition", "class_definition"}


# ---------------------------------------------------------------- names kept

def load_names() -> dict:
    with open(NAMES_FILE, "rb") as fh:
        return tomllib.load(fh)


RUST_HARD = ("keywords", "primitives", "conventions")  # kept even where the tree defines them


def rust_keep(names: dict) -> tuple[set[str], set[str]]:
    """Rust names kept always, and kept unless the tree defines them (every other list)."""
    rust = names["rust"]
    hard = set().union(*(rust[k] for k in RUST_HARD))
    return hard, set().union(*(v for k, v in rust.items() if k not in RUST_HARD))


def _public_methods(dotted: str) -> set[str]:
    """Callable public attributes of a builtin type or a stdlib class ("re.Match")."""
    module, _, attr = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module) if module else builtins, attr)
    return {n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))}


def python_keep(names: dict) -> tuple[set[str], set[str]]:
    """Python names kept always (keywords), and kept unless the tree defines them. Soft
    keywords are not listed: where they are keywords the grammar has no identifier."""
    py = names["python"]
    soft = set(py["keyword_arguments"]) | set(sys.stdlib_module_names) | set(dir(builtins))
    for dotted in py["builtin_types"] + py["std_classes"]:
        soft |= _public_methods(dotted)
    return set(keyword.kwlist) | set(py["keep"]), soft


def python_std_modules(tree_modules: set[str]) -> set[str]:
    """Standard-library module names, less those the tree defines itself (a local token.py)."""
    return set(sys.stdlib_module_names) - tree_modules


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


# ---------------------------------------------------------------- parsing

_PARSERS: dict = {}


def parser_for(lang: str):
    if lang not in _PARSERS:
        from tree_sitter import Language, Parser
        import tree_sitter_python
        import tree_sitter_rust

        mod = tree_sitter_rust if lang == "rust" else tree_sitter_python
        _PARSERS[lang] = Parser(Language(mod.language()))
    return _PARSERS[lang]


def parse(lang: str, src: bytes):
    return parser_for(lang).parse(src)


def walk(node):
    """Every node of a subtree, depth first, children in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def error_nodes(tree) -> int:
    """ERROR and MISSING nodes of a tree (subtrees without errors are not visited)."""
    count, stack = 0, [tree.root_node]
    while stack:
        n = stack.pop()
        count += n.type == "ERROR" or n.is_missing
        stack.extend(c for c in n.children if c.has_error or c.is_missing)
    return count


def text(node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


# ---------------------------------------------------------------- std names the tree uses

def rust_std_names(root, src: bytes, roots: set[str]) -> set[str]:
    """Identifiers of std paths: `std::collections::HashMap`, `use core::fmt::{self, Write}`."""
    out: set[str] = set()
    for n in walk(root):
        if n.type in ("scoped_identifier", "scoped_type_identifier", "use_declaration"):
            leaves = _path_leaves(n, src)
            if leaves and leaves[0] in roots:
                out.update(leaves)
        elif n.type == "token_tree":
            out |= _token_tree_paths(n, src, roots)
    return out


def _path_leaves(node, src: bytes) -> list[str]:
    """Identifier texts of a path in order, leaving out generic arguments and `as` aliases."""
    leaves, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type in ("type_arguments", "token_tree"):
            continue
        if n.type == "use_as_clause":
            n = n.child_by_field_name("path") or n
        if n.type in RUST_IDENTIFIERS and n.child_count == 0:
            leaves.append(text(n, src))
        stack.extend(reversed(n.children) if n.type != "identifier" else ())
    return leaves


def _token_tree_paths(node, src: bytes, roots: set[str]) -> set[str]:
    """`std :: mem :: swap` inside a macro body: flat tokens, so follow the `::` chain."""
    out, chained, expect_seg = set(), False, False
    for c in node.children:
        if c.type == "identifier" and (expect_seg or text(c, src) in roots):
            out.add(text(c, src))
            chained, expect_seg = True, False
        elif c.type == "::" and chained:
            expect_seg = True
        else:
            chained = expect_seg = False
    return out


def python_std_names(root, src: bytes, std_modules: set[str]) -> set[str]:
    """Names a Python file takes from the standard library, found from its imports."""
    out, aliases = set(), set()
    for n in walk(root):
        if n.type == "import_statement":
            aliases |= _py_import(n, src, std_modules, out)
        elif n.type == "import_from_statement":
            _py_import_from(n, src, std_modules, out)
    for n in walk(root):
        if n.type == "attribute" and _attribute_base(n, src) in aliases:
            attr = n.child_by_field_name("attribute")
            if attr is not None:
                out.add(text(attr, src))
    return out


def _py_import(node, src, std_modules, out: set) -> set[str]:
    """`import os.path, sys as system`: keeps os, path, sys; returns the bound names."""
    bound = set()
    for c in node.named_children:
        dotted = c.child_by_field_name("name") if c.type == "aliased_import" else c
        segs = [text(s, src) for s in dotted.named_children]
        if segs and segs[0] in std_modules:
            out.update(segs)
            alias = c.child_by_field_name("alias") if c.type == "aliased_import" else None
            bound.add(text(alias, src) if alias is not None else segs[0])
    return bound


def _py_import_from(node, src, std_modules, out: set) -> None:
    """`from collections import defaultdict as dd`: keeps collections and defaultdict."""
    module = node.child_by_field_name("module_name")
    if module is None or module.type != "dotted_name":
        return  # relative import: the tree's own module
    segs = [text(s, src) for s in module.named_children]
    if not segs or segs[0] not in std_modules:
        return
    out.update(segs)
    for c in node.children_by_field_name("name"):
        dotted = c.child_by_field_name("name") if c.type == "aliased_import" else c
        out.update(text(s, src) for s in dotted.named_children)


def _attribute_base(node, src: bytes) -> str | None:
    while node.type == "attribute":
        node = node.child_by_field_name("object")
    return text(node, src) if node.type == "identifier" else None


# ---------------------------------------------------------------- names the tree defines

RUST_ITEMS = {"function_item", "function_signature_item", "struct_item", "enum_item",
              "union_item", "type_item", "trait_item", "mod_item", "const_item", "static_item",
              "enum_variant", "field_declaration", "macro_definition"}


def rust_defined(root, src: bytes, kept_traits: set[str]) -> set[str]:
    """Names of the tree's own items, leaving out extern declarations and the members of
    impls of a kept (std) trait: `fn fmt` in `impl Display for X` is not the author's name."""
    out = set()
    for n in walk(root):
        if n.type in RUST_ITEMS and not _foreign_or_std_impl(n, src, kept_traits):
            name = n.child_by_field_name("name")
            if name is not None:
                out.add(text(name, src))
    return out


def _foreign_or_std_impl(item, src: bytes, kept_traits: set[str]) -> bool:
    holder = item.parent.parent if item.parent and item.parent.type == "declaration_list" else None
    if holder is None:
        return False
    if holder.type == "foreign_mod_item":
        return True
    trait = holder.child_by_field_name("trait") if holder.type == "impl_item" else None
    if trait is None:
        return False
    leaves = _path_leaves(trait, src) or [text(trait, src)]
    return leaves[-1] in kept_traits


PY_ASSIGN = {"assignment", "augmented_assignment"}


def python_defined(root, src: bytes) -> set[str]:
    """Functions, classes, module- and class-level names, and attributes assigned anywhere."""
    out = set()
    for n in walk(root):
        if n.type in ("function_definition", "class_definition"):
            out.add(text(n.child_by_field_name("name"), src))
        elif n.type in PY_ASSIGN:
            out |= _assigned(n.child_by_field_name("left"), src, _at_top(n))
    return {name for name in out if not is_dunder(name)}


def _at_top(assign) -> bool:
    """Whether an assignment sits in a module or class body (not in a function)."""
    stmt = assign.parent
    body = stmt.parent if stmt is not None else None
    if body is None or body.type == "module":
        return body is not None
    return body.type == "block" and body.parent is not None and body.parent.type == "class_definition"


def _assigned(target, src: bytes, top: bool) -> set[str]:
    if target is None:
        return set()
    if target.type == "attribute":
        return {text(target.child_by_field_name("attribute"), src)}
    if target.type == "identifier":
        return {text(target, src)} if top else set()
    return set().union(set(), *(_assigned(c, src, top) for c in target.named_children))


# ---------------------------------------------------------------- renaming

def opaque_name(name: str, number: int) -> str:
    """`zz` and the number in letters (1 = a, 27 = aa): no digits and no word, so the
    sub-words of an opaque name (identifier channels split `v12` into v and 12) match
    nothing in a corpus, not even a C test's v1, v2, ..."""
    letters = ""
    while number:
        number, digit = divmod(number - 1, 26)
        letters = chr(ord("a") + digit) + letters
    core = name.lstrip("_")
    return f"{name[:len(name) - len(core)]}{'Zz' if core[:1].isupper() else 'zz'}{letters}"


@dataclass
class Renamer:
    """One opaque name per original name, shared by every file of a tree."""

    keep: dict[str, set[str]]
    table: dict[str, int] = field(default_factory=dict)

    def kept(self, lang: str, name: str) -> bool:
        return name in self.keep[lang] or (lang == "python" and is_dunder(name))

    def opaque(self, name: str) -> str:
        return opaque_name(name, self.table.setdefault(name, len(self.table) + 1))

    def rename(self, lang: str, name: str) -> str | None:
        """The new name, or None to keep it. Raw identifiers (r#type) are always user names."""
        if name.startswith("r#"):
            return self.opaque(name[2:])
        return None if self.kept(lang, name) else self.opaque(name)


# ---------------------------------------------------------------- edits

def newlines(raw: bytes) -> bytes:
    return b"\n" * raw.count(b"\n")


def removal(src: bytes, start: int, end: int) -> tuple[int, int, bytes]:
    """Remove a span, keeping its newlines; a space when it had none (tokens stay apart)."""
    return start, end, newlines(src[start:end]) or b" "


def rust_edits(root, src: bytes, ren: Renamer):
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        if t in ("line_comment", "block_comment"):
            yield removal(src, n.start_byte, n.end_byte)
        elif t == "string_literal" and n.parent.type == "extern_modifier":
            continue  # an ABI name (extern "C") is syntax, not text
        elif t == "string_literal" and n.child_count >= 2:
            start, end = n.children[0].end_byte, n.children[-1].start_byte
            yield start, end, newlines(src[start:end])
        elif t in RUST_RAW_STRINGS:
            content = [c for c in n.children if c.type == "string_content"]
            if content:
                start, end = content[0].start_byte, content[-1].end_byte
                yield start, end, newlines(src[start:end])
        elif t in RUST_IDENTIFIERS and n.child_count == 0:
            yield from _rename(ren, "rust", n, src, n.start_byte)
        elif t == "metavariable" and text(n, src) != "$crate":
            yield from _rename(ren, "rust", n, src, n.start_byte + 1)
        elif t != "char_literal":
            stack.extend(reversed(n.children))


def _rename(ren: Renamer, lang: str, node, src: bytes, start: int):
    new = ren.rename(lang, src[start:node.end_byte].decode("utf-8", "replace"))
    if new is not None:
        yield start, node.end_byte, new.encode()


def python_edits(root, src: bytes, ren: Renamer):
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        if t == "comment":
            yield removal(src, n.start_byte, n.end_byte)
        elif t == "expression_statement" and is_docstring(n):
            yield docstring_edit(n, src)
        elif t == "string":
            yield from python_string_edits(n, src)
        elif t == "identifier":
            yield from _rename(ren, "python", n, src, n.start_byte)
        else:
            stack.extend(reversed(n.children))


def python_string_edits(node, src: bytes):
    """Blank between string_start and string_end; a one-line string keeps a line break
    as a backslash continuation, so the next lines keep their numbers. Two literals
    written without a space ('a''b') get one, or the blanks would open a triple quote."""
    kids = node.children
    if len(kids) < 2 or kids[0].type != "string_start" or kids[-1].type != "string_end":
        return
    start, end = kids[0].end_byte, kids[-1].start_byte
    triple = src[kids[0].start_byte:start].endswith((b'"""', b"'''"))
    breaks = newlines(src[start:end])
    yield start, end, breaks if triple else breaks.replace(b"\n", b"\\\n")
    if src[node.end_byte:node.end_byte + 1] in (b"'", b'"'):
        yield node.end_byte, node.end_byte, b" "


def is_docstring(stmt) -> bool:
    """The first statement of a module, class or function body, being a lone string."""
    if stmt.named_child_count != 1 or stmt.named_children[0].type != "string":
        return False
    parent = stmt.parent
    owner = parent if parent.type == "module" else parent.parent
    if parent.type not in ("module", "block") or owner is None or owner.type not in PY_DOC_OWNERS:
        return False
    first = next((c for c in parent.named_children if c.type != "comment"), None)
    return first is not None and first.id == stmt.id


def docstring_edit(stmt, src: bytes):
    """Remove a docstring; `pass` when it is the only statement of a class or function, or
    when a `;` follows it on its line."""
    parent = stmt.parent
    alone = sum(c.type != "comment" for c in parent.named_children) == 1
    keep_lines = newlines(src[stmt.start_byte:stmt.end_byte])
    semicolon = src[stmt.end_byte:].lstrip(b" \t").startswith(b";")
    filler = b"pass" if (alone and parent.type == "block") or semicolon else b""
    return stmt.start_byte, stmt.end_byte, filler + keep_lines


def apply_edits(src: bytes, edits) -> bytes:
    out, pos = [], 0
    for start, end, new in sorted(edits):
        if start < pos:
            raise ValueError(f"overlapping edits at byte {start}")
        out += [src[pos:start], new]
        pos = end
    out.append(src[pos:])
    return b"".join(out)


EDITORS = {"rust": rust_edits, "python": python_edits}


def rewrite(lang: str, src: bytes, ren: Renamer) -> bytes:
    tree = parse(lang, src)
    return apply_edits(src, EDITORS[lang](tree.root_node, src, ren))


# ---------------------------------------------------------------- trees

@dataclass
class LangStats:
    files: int = 0
    lines: int = 0
    errors_in: int = 0
    errors_out: int = 0
    worse: list[str] = field(default_factory=list)


def source_files(root: Path) -> list[Path]:
    """Every file under root, sorted (the order fixes the opaque numbering)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        out += [Path(dirpath, f) for f in sorted(filenames)]
    return out


def tree_python_modules(files: list[Path]) -> set[str]:
    """Module and package names the tree defines (they shadow stdlib modules of that name)."""
    mods = {f.stem for f in files if f.suffix in (".py", ".pyi")}
    return mods | {f.parent.name for f in files if f.name == "__init__.py"}


def make_renamer(files: list[Path]) -> Renamer:
    """Keep-sets from the lists plus the std names the tree's own files use, less the
    names the tree defines (those are the author's, whatever they coincide with)."""
    names = load_names()
    tree_modules = tree_python_modules(files)
    std_modules = python_std_modules(tree_modules)
    hard, soft, defined = {}, {}, {"rust": set(), "python": set(tree_modules)}
    hard["rust"], soft["rust"] = rust_keep(names)
    hard["python"], soft["python"] = python_keep(names)
    roots = set(names["rust"]["path_roots"])
    for f in files:
        lang = LANGUAGES.get(f.suffix)
        if lang and not f.is_symlink():
            src = f.read_bytes()
            root = parse(lang, src).root_node
            if lang == "rust":
                soft[lang] |= rust_std_names(root, src, roots)
                defined[lang] |= rust_defined(root, src, soft[lang])
            else:
                soft[lang] |= python_std_names(root, src, std_modules)
                defined[lang] |= python_defined(root, src)
    return Renamer({lang: hard[lang] | (soft[lang] - defined[lang]) for lang in hard})


@dataclass
class Conversion:
    stats: dict[str, LangStats]
    names: dict[str, int]  # original name -> its opaque number

    @property
    def renamed(self) -> int:
        return len(self.names)


def convert_tree(src_dir, dest_dir) -> Conversion:
    """Write the structure-only copy of src_dir to dest_dir (which must not exist yet)."""
    src_dir, dest_dir = Path(src_dir), Path(dest_dir)
    if dest_dir.exists():
        raise FileExistsError(f"{dest_dir} exists; give a new folder")
    files = source_files(src_dir)
    ren = make_renamer(files)
    stats: dict[str, LangStats] = {}
    for f in files:
        out = dest_dir / f.relative_to(src_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        lang = LANGUAGES.get(f.suffix)
        if f.is_symlink() or lang is None:
            shutil.copy2(f, out, follow_symlinks=False)
            continue
        convert_file(f, out, lang, ren, stats.setdefault(lang, LangStats()), src_dir)
    return Conversion(stats, ren.table)


def convert_file(f: Path, out: Path, lang: str, ren: Renamer, st: LangStats, base: Path) -> None:
    src = f.read_bytes()
    new = rewrite(lang, src, ren)
    if new.count(b"\n") != src.count(b"\n"):
        raise AssertionError(f"{f}: line count changed")
    out.write_bytes(new)
    before, after = error_nodes(parse(lang, src)), error_nodes(parse(lang, new))
    st.files += 1
    st.lines += src.count(b"\n")
    st.errors_in += before
    st.errors_out += after
    if after > before:
        st.worse.append(f"{f.relative_to(base)} ({before} -> {after})")


def report(conv: Conversion) -> str:
    stats = conv.stats
    rows = [f"{lang}: {s.files} files, {s.lines} lines; parse error nodes {s.errors_in} in the "
            f"input, {s.errors_out} in the copy; files with more errors: {len(s.worse)}"
            + "".join(f"\n    {w}" for w in s.worse) for lang, s in sorted(stats.items())]
    rows.append(f"distinct names renamed: {conv.renamed}")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="tree to copy")
    ap.add_argument("dest", help="new folder for the structure-only copy")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.src):
        ap.error(f"{args.src} is not a folder")
    try:
        conv = convert_tree(args.src, args.dest)
    except FileExistsError as exc:
        ap.error(str(exc))
    print(report(conv))
    return 1 if any(s.worse for s in conv.stats.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
