"""A unit's leading comment block belongs to its entry: a port carries it over with the unit.

The comment right above a function (a doc comment, a grammar rule) is outside the
function's node in every grammar; left out of the entry, it was never compared, and a
translator who rewrote the code but kept the comments left no evidence at all.
"""

from __future__ import annotations

import os

from audit.parse import parse
from audit.provenance import api
from audit.provenance.sketch import KIND_UNIT, sketch_parsed
from audit.walk import SourceFile, git_blob_sha1


def _units(text: str, language: str, path: str) -> dict[str, tuple[int, int]]:
    data = text.encode()
    sk = sketch_parsed(parse(SourceFile(path, language, data, git_blob_sha1(data))))
    return {name.replace("::", ".").rsplit(".", 1)[-1]: (int(a), int(b))
            for a, b, k, name in zip(sk.entry_start, sk.entry_end, sk.entry_kind, sk.entry_names)
            if k == KIND_UNIT}


C_SOURCE = """\
#include <stdio.h>

int counter;

/* Scope for local variables and typedefs: a chain of
 * blocks, searched from the innermost outwards. */
// A second comment right below the first joins its block.
static int first(int x) {
  return x + 1;
}

// Separated from its function by a blank line: a comment about the file, not the unit.

static int second(int x) {
  return x * 2;
} // a trailing remark on the closing line belongs to second
static int third(int x) {
  return x - 3;
}
int limit = 4; /* a remark on the declaration, not a comment on fourth */
static int fourth(int x) {
  return x / limit;
}
"""

RUST_SOURCE = """\
use std::collections::HashMap;

/// Find a variable by name, innermost scope first.
/// Returns None when no scope declares it.
fn find_var(scopes: &[HashMap<String, i64>], name: &str) -> Option<i64> {
    scopes.iter().rev().find_map(|s| s.get(name).copied())
}

/// Three lines of documentation,
/// then the attributes,
/// then the function.
#[inline]
#[must_use]
fn depth(scopes: &[HashMap<String, i64>]) -> usize {
    scopes.len()
}

#[derive(Debug)]
struct Marker;
"""


def test_comment_block_right_above_a_unit_joins_its_entry():
    units = _units(C_SOURCE, "c", "scope.c")
    assert units["first"] == (5, 10)  # both comments, the block and the line below it
    assert units["second"] == (14, 16)  # a blank line keeps the file comment out
    assert units["third"] == (17, 19)  # the previous unit's trailing comment is not taken
    assert units["fourth"] == (21, 23)  # nor a remark after code on the line above


def test_rust_doc_comments_join_their_function_over_its_attributes():
    units = _units(RUST_SOURCE, "rust", "scope.rs")
    assert units["find_var"] == (3, 7)
    assert units["depth"] == (9, 16)


def test_python_comment_above_the_decorators_joins_its_function():
    source = "import functools\n\n\n# Memoised: the table is built once per process.\n" \
             "@functools.cache\ndef table():\n    return [i * i for i in range(256)]\n"
    assert _units(source, "python", "t.py")["table"] == (4, 7)


def test_cpp_comment_above_the_template_header_joins_its_function():
    source = "#include <vector>\n\n// The larger of two values of one type.\ntemplate <typename T>\n" \
             "T larger(T a, T b) {\n  return a < b ? b : a;\n}\n"
    assert _units(source, "cpp", "t.cpp")["larger"] == (3, 7)


CORPUS = {
    "symtab.c": """\
#include <string.h>
#include "symtab.h"

/* Look a name up in every enclosing scope, innermost first, so that a
 * declaration in a nested block shadows the one outside it. Returns NULL
 * when the name was never declared anywhere. */
static Symbol *lookup_symbol(Scope *sc, const char *name) {
  for (; sc; sc = sc->up)
    for (Symbol *s = sc->syms; s; s = s->next)
      if (strcmp(s->name, name) == 0)
        return s;
  return NULL;
}

/* Open a fresh block scope whose parent is the current one; every
 * declaration until the matching leave_scope lands in it. */
static Scope *enter_scope(Scope *up) {
  Scope *sc = calloc(1, sizeof(Scope));
  sc->up = up;
  sc->depth = up ? up->depth + 1 : 0;
  return sc;
}

/* Count the declarations of a scope chain, used when sizing the frame of
 * the enclosing function before its locals are laid out. */
static int count_symbols(Scope *sc) {
  int n = 0;
  for (; sc; sc = sc->up)
    for (Symbol *s = sc->syms; s; s = s->next)
      n++;
  return n;
}
""",
}

PORT = """\
use std::collections::HashMap;

pub struct Scopes {
    stack: Vec<HashMap<String, usize>>,
}

impl Scopes {
    /// Look a name up in every enclosing scope, innermost first, so that a
    /// declaration in a nested block shadows the one outside it. Returns NULL
    /// when the name was never declared anywhere.
    pub fn resolve(&self, key: &str) -> Option<usize> {
        self.stack.iter().rev().find_map(|frame| frame.get(key).copied())
    }

    /// Open a fresh block scope whose parent is the current one; every
    /// declaration until the matching leave_scope lands in it.
    pub fn push(&mut self) {
        self.stack.push(HashMap::new());
    }

    /// Count the declarations of a scope chain, used when sizing the frame of
    /// the enclosing function before its locals are laid out.
    pub fn total(&self) -> usize {
        self.stack.iter().map(HashMap::len).sum()
    }
}
"""


def test_rewritten_code_with_its_comments_carried_over_is_found(tmp_path):
    """Every function rewritten (iterators for loops, a Vec for the linked chain, new names),
    only the comments kept: each is paired with its original by the comment's text."""
    (tmp_path / "corpus").mkdir()
    for name, text in CORPUS.items():
        (tmp_path / "corpus" / name).write_text(text)
    (tmp_path / "port" / "src").mkdir(parents=True)
    (tmp_path / "port" / "src" / "scopes.rs").write_text(PORT)
    index = api.index_paths([str(tmp_path / "corpus")], "symtab", str(tmp_path / "idx"), workers=1)
    result, payloads = api.scan_tree(str(tmp_path / "port"), jobs=1)
    (file,) = api.match_result(result, payloads, [index]).files
    assert file.matches, "the carried-over comments leave no evidence"
    assert os.path.basename(file.matches[0].corpus_path) == "symtab.c"
    pairs = {u["unit"].rsplit("::", 1)[-1]: u["corpus_unit"] for m in file.matches for u in m.units}
    assert pairs == {"resolve": "lookup_symbol", "push": "enter_scope", "total": "count_symbols"}
    text = [f for m in file.matches for f in m.evidence if f.kind == "text"]
    assert min(f.lines[0] for f in text) <= 10 and max(f.lines[1] for f in text) >= 22
