"""Turn a ParsedFile into a FileResult: line counts, complexity, Halstead, grades."""

from __future__ import annotations

from audit.metrics.grades import POOR_RANKS, cc_rank
from audit.metrics.halstead import OPERATORS, halstead_from_counts, rust_token_counts
from audit.metrics.lines import LineTable, union_source_lines
from audit.parse import CodeUnit, ParsedFile
from audit.results import FileResult, Halstead, Unit, UnitMetrics


def measure(parsed: ParsedFile, python_engine: str = "radon") -> FileResult:
    """Measure every unit of a parsed file and roll the numbers up to the file."""
    table = LineTable(parsed.data, parsed.comments, parsed.docstrings, parsed.lines())
    warnings: list[str] = []
    if parsed.language == "python":
        units, file_hal, file_cc = _python_units(parsed, table, python_engine, warnings)
    else:
        units, file_hal, file_cc = _token_units(parsed, table)
    poor = [(u.start_line, u.end_line) for u in units
            if u.is_function and cc_rank(u.metrics.cyclomatic) in POOR_RANKS]
    if parsed.error_spans:
        first = parsed.error_spans[0]
        warnings.append(f"syntax error at line {first.start_line} "
                        f"({len(parsed.error_spans)} region(s)); measured around it")
    return FileResult(
        path=parsed.source.path, language=parsed.language, sha1=parsed.source.sha1,
        lines=table.counts(), units=tuple(units), halstead=file_hal, cyclomatic=file_cc,
        poor_sloc=union_source_lines(table, poor), parse_errors=parsed.error_spans,
        warnings=tuple(warnings), is_test=_file_is_test(parsed),
    )


def _file_is_test(parsed: ParsedFile) -> bool:
    from audit.lang.walker import walker_for

    cls = walker_for(parsed.language)
    return bool(cls and cls.is_test_path(parsed.source.path))


def _unit(cu: CodeUnit, table: LineTable, cyclomatic: int, hal: Halstead) -> Unit:
    metrics = UnitMetrics(
        lines=table.counts(cu.start_line, cu.end_line), cyclomatic=cyclomatic,
        cognitive=cu.cognitive, nesting=cu.nesting, params=cu.params,
        exits=cu.returns + cu.early_exits + (1 if cu.falls_through else 0), halstead=hal,
    )
    return Unit(cu.qualname, cu.name, cu.kind, cu.start_line, cu.end_line, metrics, cu.is_test)


def _token_units(parsed: ParsedFile, table: LineTable):
    """Rust (and other brace languages): Halstead from one token scan per top unit."""
    data = parsed.data
    units, vocabulary, big_n1, big_n2 = [], set(), 0, 0
    for cu in parsed.units:
        counts = rust_token_counts(data, cu.start_byte, cu.end_byte)
        hal = halstead_from_counts(counts)
        if cu.parent is None:  # top units do not overlap: together they are the file's tokens
            vocabulary.update(counts.keys())
            big_n1 += hal.N1
            big_n2 += hal.N2
        units.append(_unit(cu, table, cu.cyclomatic, hal))
    n1 = len(vocabulary & OPERATORS)
    file_cc = parsed.file_cyclomatic + sum(u.metrics.cyclomatic for u in units if u.kind != "class")
    return units, Halstead(n1, len(vocabulary) - n1, big_n1, big_n2), file_cc


def _python_units(parsed: ParsedFile, table: LineTable, engine: str, warnings: list[str]):
    """Python: radon's cyclomatic and Halstead where radon reads the file."""
    radon = None
    if engine == "radon":
        from audit.metrics.pyradon import radon_measure

        try:
            radon = radon_measure(parsed.data.decode("utf-8"))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f" at line {exc.lineno}" if getattr(exc, "lineno", None) else ""
            warnings.append(f"radon could not parse this file ({type(exc).__name__}{where}); "
                            "tree-sitter counts used")
    units = []
    for cu in parsed.units:
        cc = radon.cyclomatic.get(cu.start_line, cu.cyclomatic) if radon else cu.cyclomatic
        hal = radon.halstead.get(cu.start_line, Halstead()) if radon else Halstead()
        units.append(_unit(cu, table, cc, hal))
    if radon:
        return units, radon.total_halstead, radon.total_cyclomatic
    file_cc = parsed.file_cyclomatic + sum(u.metrics.cyclomatic for u in units if u.kind != "class")
    return units, Halstead(), file_cc

