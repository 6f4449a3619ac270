"""Languages: file extensions, tree-sitter grammars and node-kind tables."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from tree_sitter import Language as TSLanguage
from tree_sitter import Parser


@dataclass(frozen=True)
class Language:
    """A language audit can read: its name, extensions and grammar loader."""

    name: str
    extensions: tuple[str, ...]
    grammar: Callable[[], object]  # returns the tree-sitter language pointer
    audited: bool  # measured by `audit scan`; otherwise only indexed as a corpus

    @functools.cached_property
    def ts_language(self) -> TSLanguage:
        return TSLanguage(self.grammar())

    def parser(self) -> Parser:
        return _parser(self.name)


def _rust():
    import tree_sitter_rust

    return tree_sitter_rust.language()


def _python():
    import tree_sitter_python

    return tree_sitter_python.language()


def _c():
    import tree_sitter_c

    return tree_sitter_c.language()


def _cpp():
    import tree_sitter_cpp

    return tree_sitter_cpp.language()


LANGUAGES: dict[str, Language] = {
    "rust": Language("rust", (".rs",), _rust, True),
    "python": Language("python", (".py", ".pyi"), _python, True),
    "c": Language("c", (".c", ".h"), _c, False),
    "cpp": Language("cpp", (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++",
                            ".def", ".tcc"), _cpp, False),
}

_BY_EXTENSION = {ext: lang for lang in LANGUAGES.values() for ext in lang.extensions}


def language_for(path: str) -> Language | None:
    """The language of a file, by its extension (case-sensitive, as compilers do)."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return _BY_EXTENSION.get(path[dot:])


@functools.lru_cache(maxsize=None)
def _parser(name: str) -> Parser:
    return Parser(LANGUAGES[name].ts_language)
