"""bench/structonly.py: structure-only copies of purpose-written Rust and Python trees."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO

_spec = importlib.util.spec_from_file_location("structonly", Path(REPO, "bench", "structonly.py"))
structonly = importlib.util.module_from_spec(_spec)
sys.modules["structonly"] = structonly  # dataclasses look their module up there
_spec.loader.exec_module(structonly)

LEXER_RS = r'''//! A tiny lexer for arithmetic.
use std::collections::HashMap;
use std::fmt;

/// One token of the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Number(i64),
    Plus,
    Add,
    Ident(String),
}

pub struct Lexer<'src> {
    chars: std::iter::Peekable<std::str::Chars<'src>>,
    keywords: HashMap<String, u32>,
}

impl<'src> Lexer<'src> {
    pub fn new(input: &'src str) -> Self {
        let mut keywords = HashMap::new();
        keywords.insert("let".to_string(), 0x10); /* reserved
           words */
        Lexer { chars: input.chars().peekable(), keywords }
    }

    pub fn next_token(&mut self) -> Option<Token> {
        let c = *self.chars.peek()?;
        if c == '+' {
            self.chars.next();
            return Some(Token::Plus);
        }
        let raw = r#"a "quoted" string"#;
        let data = b"octets\n";
        lex_error!("unexpected {}", c);
        None
    }
}

macro_rules! lex_error {
    ($fmt:expr, $($rest:tt)*) => { eprintln!($fmt, $($rest)*) };
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?}", self)
    }
}
'''

PARSER_PY = '''"""Parser for the arithmetic tokens."""
import os.path
from collections import defaultdict
from lexer import Token, next_token  # the sibling module


class Parser:
    """Recursive descent."""

    def __init__(self, lexer):
        self.lexer = lexer
        self.counts = defaultdict(int)
        self.path = os.path.join("a", "b")
        self.start = 0

    def match(self, kind):
        return self.counts.get(kind)

    def parse_sum(self):
        """Sum of numbers."""
        total = 0
        tok = next_token(self.lexer)
        while tok is not None:
            total += tok.Number * 2  # scale
            print(f"tok={tok!r}", 'one\\
line', b"octets", len(self.counts))
        return total

    def unfinished(self):
        """Only a docstring."""
'''

LEXER_PY = '''class Token:
    """A token."""

    def __init__(self, kind):
        self.kind = kind


def next_token(lexer):
    return lexer.pop()
'''


@pytest.fixture
def copied(tmp_path):
    src = tmp_path / "src"
    (src / "rs").mkdir(parents=True)
    (src / "rs" / "lexer.rs").write_text(LEXER_RS)
    (src / "py").mkdir()
    (src / "py" / "parser.py").write_text(PARSER_PY)
    (src / "py" / "lexer.py").write_text(LEXER_PY)
    (src / "main.c").write_text("/* a C file */\nint next_token(void) { return 0; }\n")
    conv = structonly.convert_tree(src, tmp_path / "out")
    out = tmp_path / "out"
    return conv, {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def words(code: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))


def test_file_names_and_line_counts_are_kept(copied):
    conv, out = copied
    assert sorted(out) == ["main.c", "py/lexer.py", "py/parser.py", "rs/lexer.rs"]
    for name, original in [("rs/lexer.rs", LEXER_RS), ("py/parser.py", PARSER_PY), ("py/lexer.py", LEXER_PY)]:
        assert out[name].count("\n") == original.count("\n"), name
    assert conv.stats["rust"].files == 1 and conv.stats["python"].files == 2


def test_other_files_are_copied_unchanged(copied):
    assert copied[1]["main.c"] == "/* a C file */\nint next_token(void) { return 0; }\n"


def test_comments_docstrings_and_strings_are_gone(copied):
    _, out = copied
    for code in (out["rs/lexer.rs"], out["py/parser.py"], out["py/lexer.py"]):
        gone = {"tiny", "reserved", "words", "Recursive", "descent", "scale", "sibling", "quoted",
                "octets", "unexpected", "one", "docstring", "numbers", "tok"}
        assert not gone & words(code), gone & words(code)
        assert "//" not in code and "/*" not in code
        assert "#" not in code.replace("#[", "").replace('r#"', "").replace('"#', "")


def test_string_prefixes_and_quotes_are_kept(copied):
    _, out = copied
    rs, py = out["rs/lexer.rs"], out["py/parser.py"]
    assert 'r#""#' in rs and 'b""' in rs and 'eprintln!' in rs
    assert 'f""' in py and 'b""' in py and "'\\\n'" in py  # one-line string keeps its line break


def test_char_literals_and_numbers_are_kept(copied):
    _, out = copied
    rs, py = out["rs/lexer.rs"], out["py/parser.py"]
    assert "c == '+'" not in rs and "== '+'" in rs and "0x10" in rs
    assert "+= " in py and "* 2" in py and "= 0" in py


def test_std_and_keyword_names_are_kept(copied):
    _, out = copied
    rs = words(out["rs/lexer.rs"])
    assert {"std", "collections", "HashMap", "fmt", "Display", "Formatter", "Result", "Option",
            "Some", "None", "String", "Self", "self", "peek", "next", "insert", "to_string",
            "peekable", "i64", "u32", "str", "derive", "Debug", "Clone", "PartialEq",
            "write", "eprintln", "Peekable", "Chars", "iter", "impl", "mut"} <= rs
    py = words(out["py/parser.py"])
    assert {"os", "join", "collections", "defaultdict", "int", "print", "len", "self",
            "__init__", "while", "is", "None", "return", "pass", "get"} <= py


def test_names_the_tree_defines_are_renamed_even_when_std_has_them(copied):
    _, out = copied
    rs, py = words(out["rs/lexer.rs"]), words(out["py/parser.py"])
    assert not {"chars", "Add"} & rs  # a field and an enum variant of the tree
    assert "fmt" in rs  # `fn fmt` implements std's Display: not the author's name
    assert not {"match", "start", "path"} & py  # a method and attributes the tree assigns
    assert re.search(r"os\.zz[a-z]+\.join", out["py/parser.py"])  # one name, one opaque name
    assert re.search(r"zz[a-z]+\.chars\(\)", out["rs/lexer.rs"]) is None


def test_user_names_are_opaque(copied):
    _, out = copied
    user = {"Token", "Number", "Plus", "Ident", "Lexer", "keywords", "input", "next_token",
            "lex_error", "raw", "tok", "total", "Parser", "lexer", "counts", "parse_sum",
            "unfinished", "kind", "src", "rest", "data"}
    for name, code in out.items():
        if name.endswith((".rs", ".py")):
            assert not user & words(code), (name, user & words(code))
    assert re.search(r"pub enum Zz[a-z]+", out["rs/lexer.rs"])
    assert re.search(r"macro_rules! zz[a-z]+", out["rs/lexer.rs"])
    assert re.search(r"'zz[a-z]+>", out["rs/lexer.rs"])  # lifetimes are names too


def _opaque(code: str, pattern: str) -> str:
    m = re.search(pattern, code)
    assert m, pattern
    return m.group(1)


def test_names_map_consistently_across_files_and_languages(copied):
    _, out = copied
    rs, py, lex = out["rs/lexer.rs"], out["py/parser.py"], out["py/lexer.py"]
    token = _opaque(rs, r"pub enum (Zz[a-z]+)")
    assert _opaque(lex, r"class (Zz[a-z]+):") == token  # Token in Rust and in Python
    assert f"Some({token}::" in rs and f"for {token} " in rs
    next_tok = _opaque(rs, r"pub fn (zz[a-z]+)\(&mut self\)")
    assert _opaque(lex, r"def (zz[a-z]+)\(") == next_tok
    assert f"= {next_tok}(self." in py
    macro = _opaque(rs, r"macro_rules! (zz[a-z]+)")
    assert f"{macro}!(" in rs  # the macro call inside the method uses the same name
    kind = _opaque(lex, r"self\.(zz[a-z]+) = ")
    assert f"self.{kind} = {kind}" in lex  # field and parameter of the same name
    number = _opaque(rs, r"(Zz[a-z]+)\(i64\)")
    assert re.search(rf"zz[a-z]+ \+= zz[a-z]+\.{number} \* 2", py)  # enum variant and attribute


def test_docstrings_leave_valid_blocks(copied):
    _, out = copied
    py = out["py/parser.py"]
    assert re.search(r"def zz[a-z]+\(self\):\n\s+pass\n", py)  # docstring-only body
    conv, _ = copied
    assert conv.stats["python"].errors_out == 0 and conv.stats["python"].worse == []


def test_copies_parse_as_well_as_the_input(copied):
    conv, _ = copied
    for lang in ("rust", "python"):
        st = conv.stats[lang]
        assert st.errors_in == st.errors_out == 0 and not st.worse


def test_local_module_shadowing_stdlib_is_renamed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "token.py").write_text("KINDS = 3\n")
    (src / "main.py").write_text("import token\nimport string\nprint(token.KINDS, string.digits)\n")
    structonly.convert_tree(src, tmp_path / "out")
    main = (tmp_path / "out" / "main.py").read_text()
    assert "import token" not in main and "import string" in main and "string.digits" in main


def test_refuses_an_existing_destination(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "out").mkdir()
    with pytest.raises(SystemExit) as exc:
        structonly.main([str(tmp_path / "src"), str(tmp_path / "out")])
    assert exc.value.code == 2 and "exists" in capsys.readouterr().err


def test_docstring_followed_by_a_statement_on_its_line(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text('def f():\n    """Doc."""; x = 1\n    return x\n')
    conv = structonly.convert_tree(src, tmp_path / "out")
    code = (tmp_path / "out" / "m.py").read_text()
    assert code.startswith("def zza():\n    pass; zzb = 1\n") and conv.stats["python"].errors_out == 0


def test_adjacent_string_literals_stay_apart(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text("FLAGS = ('--a ''--b' \"--c\"\"--d\")\n")
    conv = structonly.convert_tree(src, tmp_path / "out")
    assert (tmp_path / "out" / "m.py").read_text() == "Zza = ('' '' \"\" \"\")\n"
    assert conv.stats["python"].errors_out == 0
