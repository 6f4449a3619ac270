"""Python rule checks that a query alone cannot express (registered into audit.rules.checks)."""

from __future__ import annotations

import re

from audit.rules.checks import _file, _filter

_LOGGING_EXC = re.compile(rb"\.exception\(|exc_info\s*=")
_BLANKET_NOQA = re.compile(r"#\s*(?:flake8\s*:\s*)?noqa(?!\s*:\s*[A-Z]+[0-9]+)", re.IGNORECASE)
_BLANKET_IGNORE = re.compile(r"#\s*type:\s*ignore(?!\s*\[)")
_FUNCTION_KINDS = ("function_definition", "lambda")


def _statements(node):
    """Statements under a node, not descending into nested functions, classes or `try`
    statements (a re-raise inside an inner `try` may be caught there, so ruff does not count it)."""
    stack = list(node.named_children)
    while stack:
        n = stack.pop()
        if n.type in ("function_definition", "class_definition", "lambda", "try_statement"):
            continue
        yield n
        stack.extend(n.named_children)


def _bound_name(clause) -> bytes | None:
    for c in clause.named_children:
        if c.type == "as_pattern":
            alias = c.child_by_field_name("alias")
            return alias.text if alias is not None else None
    return None


def _reraises(raise_node, name) -> bool:
    """Bare `raise`, `raise e`, or `raise X from e` with e the handler's bound name."""
    kids = raise_node.named_children
    cause = raise_node.child_by_field_name("cause")
    if not kids:
        return True
    if name is None:
        return False
    return (cause is not None and cause.text == name) or (cause is None and kids[0].text == name)


def _logs_exception(call) -> bool:
    fn = call.child_by_field_name("function")
    if fn is not None and fn.type == "attribute" and fn.child_by_field_name("attribute").text == b"exception":
        return fn.child_by_field_name("object").text != b"sys"  # sys.exception() only reads it
    args = call.child_by_field_name("arguments")
    for kw in (args.named_children if args is not None else ()):
        if kw.type == "keyword_argument" and kw.child_by_field_name("name").text == b"exc_info":
            return kw.child_by_field_name("value").type not in ("false", "none")
    return False


def _body(clause):
    return next((c for c in clause.named_children if c.type == "block"), None)


@_filter
def swallows_broad(ctx, rule, node, caps):
    """`except Exception` handlers that neither re-raise the exception nor log it (as ruff)."""
    body, name = _body(node), _bound_name(node)
    for n in _statements(body) if body is not None else ():
        if n.type == "raise_statement" and _reraises(n, name):
            return None
        if n.type == "call" and _logs_exception(n):
            return None
    return True


@_filter
def no_toplevel_reraise(ctx, rule, node, caps):
    """Bare `except:` handlers without a bare `raise` among their top-level statements."""
    body = _body(node)
    return not any(c.type == "raise_statement" and not c.named_children
                   for c in (body.named_children if body is not None else ()))


_BROAD = (b"Exception", b"BaseException")


def _catches_everything(clause) -> bool:
    kinds = [c for c in clause.named_children if c.type not in ("block", "comment")]
    if not kinds:
        return True
    target = kinds[0].named_children[0] if kinds[0].type == "as_pattern" else kinds[0]
    names = target.named_children if target.type in ("tuple", "parenthesized_expression") else [target]
    return any(n.text in _BROAD for n in names)


@_filter
def swallow_only(ctx, rule, node, caps):
    """Handlers for everything whose body is only `pass` (or only `continue`), comments aside."""
    body = _body(node)
    stmts = [c for c in (body.named_children if body is not None else ()) if c.type != "comment"]
    wanted = "continue_statement" if "continue" in rule.id else "pass_statement"
    return len(stmts) == 1 and stmts[0].type == wanted and _catches_everything(node)


@_filter
def not_in_lambda(ctx, rule, node, caps):
    """Hits outside lambda bodies (an assignment statement cannot go there)."""
    parent = node.parent
    while parent is not None:
        if parent.type == "lambda":
            return None
        parent = parent.parent
    return True


@_filter
def not_chained(ctx, rule, node, caps):
    """Assignments that are not part of a chain `a = b = value`."""
    return node.parent is None or node.parent.type != "assignment"


def _param_name(p):
    """The name node of a positional or keyword parameter; None for separators and splats."""
    if p.type == "identifier":
        return p
    if p.type == "typed_parameter":
        inner = p.named_children[0] if p.named_children else None
        return inner if inner is not None and inner.type == "identifier" else None
    if p.type in ("default_parameter", "typed_default_parameter"):
        return p.child_by_field_name("name")
    return None


def _is_method(node) -> bool:
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        parent = parent.parent
    return parent is not None and parent.type == "block" and parent.parent is not None \
        and parent.parent.type == "class_definition"


def _is_overload(node) -> bool:
    parent = node.parent
    if parent is None or parent.type != "decorated_definition":
        return False
    return any(d.type == "decorator" and d.text.rsplit(b".", 1)[-1].strip() in (b"overload", b"@overload")
               for d in parent.children)


_IMPORTS_SYS = re.compile(rb"^[ \t]*import\s+(?:[\w.]+\s*,\s*)*sys\b", re.MULTILINE)
_DEFINES_PRINT = re.compile(rb"^[ \t]*(?:def print\(|print\s*=|from\s+\S+\s+import\s+[^#\n]*\bprint\b)", re.MULTILINE)


@_filter
def builtin_print(ctx, rule, node, caps):
    """Calls of the builtin `print` to the terminal, as ruff: `file=` absent, None or sys.std*.

    Modules that define or import their own `print` are skipped, and so is
    `file=sys.stderr` where `sys` is never imported (it is not the sys module).
    """
    args = node.child_by_field_name("arguments")
    for kw in (args.named_children if args is not None else ()):
        if kw.type == "keyword_argument" and kw.child_by_field_name("name").text == b"file":
            value = kw.child_by_field_name("value").text
            if value == b"None":
                continue
            if value not in (b"sys.stdout", b"sys.stderr") or not _IMPORTS_SYS.search(ctx.data):
                return None
    return not _DEFINES_PRINT.search(ctx.data)


@_filter
def too_many_args_py(ctx, rule, node, caps):
    """Functions with more parameters than the threshold, as ruff counts them.

    `*args`, `**kwargs`, a method's `self` or `cls` and dummy names starting with `_` are
    not counted; `@overload` stubs are skipped.
    """
    if _is_overload(node):
        return None
    params = node.child_by_field_name("parameters")
    names = [_param_name(p) for p in (params.named_children if params else ())]
    if _is_method(node) and names and names[0] is not None and names[0].text in (b"self", b"cls"):
        names = names[1:]
    count = sum(1 for n in names if n is not None and not n.text.startswith(b"_"))
    return {"count": count} if count > rule.threshold else None


@_filter
def no_placeholders(ctx, rule, node, caps):
    """f-strings without a `{..}` placeholder; in an implicit concatenation, each f-string
    part is reported when no part has one (as ruff)."""
    if b"f" not in node.named_children[0].text.lower():
        return None
    parent = node.parent
    parts = parent.named_children if parent is not None and parent.type == "concatenated_string" else [node]
    return not any(c.type == "interpolation" for p in parts if p.type == "string" for c in p.named_children)


@_filter
def in_loop(ctx, rule, node, caps):
    """Hits inside a `for` or `while` body of the same function."""
    parent = node.parent
    while parent is not None and parent.type not in _FUNCTION_KINDS + ("class_definition",):
        if parent.type in ("for_statement", "while_statement"):
            return True
        parent = parent.parent
    return None


@_filter
def in_function(ctx, rule, node, caps):
    """Hits inside a function or class body (anywhere but module level)."""
    parent = node.parent
    while parent is not None:
        if parent.type in ("function_definition", "class_definition"):
            return True
        parent = parent.parent
    return None


def _comment_matches(ctx, pattern):
    for pos, text in ctx.comments():
        if pattern.search(text):
            yield ctx.span(pos), {}


@_file
def blanket_noqa(ctx, rule):
    """`# noqa` comments that name no rule codes."""
    if b"noqa" in ctx.data.lower():
        yield from _comment_matches(ctx, _BLANKET_NOQA)


@_file
def blanket_type_ignore(ctx, rule):
    """`# type: ignore` comments that name no error codes."""
    if b"ignore" in ctx.data:
        yield from _comment_matches(ctx, _BLANKET_IGNORE)


def _defines(name: bytes) -> re.Pattern:
    """A module-level definition or import of `name`, which then shadows the builtin."""
    n = re.escape(name)
    return re.compile(rb"^[ \t]*(?:def " + n + rb"\(|" + n + rb"\s*=[^=]|from\s+\S+\s+import\s+[^#\n]*\b"
                      + n + rb"\b)", re.MULTILINE)


_SHADOWS = {name: _defines(name) for name in (b"exit", b"quit")}


@_filter
def builtin_exit(ctx, rule, node, caps):
    """Calls of `exit()`/`quit()` in modules that do not define or import their own."""
    return not _SHADOWS[caps["f"][0].text].search(ctx.data)


_LITERALS = ("string", "concatenated_string", "integer", "float", "tuple", "list", "dictionary")


@_filter
def is_with_literal(ctx, rule, node, caps):
    """Comparisons where an `is` / `is not` link of the chain has a literal on either side."""
    kids = node.children
    return any(k.type in ("is", "is not") and (kids[i - 1].type in _LITERALS or kids[i + 1].type in _LITERALS)
               for i, k in enumerate(kids) if 0 < i < len(kids) - 1)


_TARGETS = ("pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "as_pattern_target")
_BINDERS = {"assignment": "left", "augmented_assignment": "left", "for_statement": "left",
            "function_definition": "name", "class_definition": "name", "named_expression": "name"}


def _binds(ident) -> bool:
    """True when an identifier is a name being (re)bound, not read."""
    parent = ident.parent
    if parent.type in _TARGETS or parent.type in ("delete_statement", "aliased_import"):
        return parent.type != "aliased_import" or parent.child_by_field_name("alias") == ident
    grand = parent.parent
    if parent.type == "dotted_name" and grand is not None and grand.type == "import_statement":
        return parent.named_children[0] == ident  # `import a.b` binds `a`
    if parent.type == "dotted_name" and grand is not None and grand.type == "import_from_statement":
        return grand.child_by_field_name("module_name") != parent
    field = _BINDERS.get(parent.type)
    return field is not None and parent.child_by_field_name(field) == ident


@_filter
def rebinds_global(ctx, rule, node, caps):
    """`global` statements whose names the enclosing function or class (re)binds, as ruff's PLW0603."""
    names = {c.text for c in node.named_children if c.type == "identifier"}
    scope = node.parent
    while scope is not None and scope.type not in ("function_definition", "class_definition", "module"):
        scope = scope.parent
    if scope is None:
        return None
    stack = list(scope.child_by_field_name("body").named_children if scope.type != "module"
                 else scope.named_children)
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            if n.text in names and _binds(n):
                return True
            continue
        if n.type in ("function_definition", "class_definition", "lambda"):
            name = n.child_by_field_name("name")
            if name is not None and name.text in names:
                return True
            continue  # a nested scope binds its own names
        stack.extend(n.named_children)
    return None


_FROM_SUBPROCESS = re.compile(rb"^[ \t]*from\s+subprocess\s+import\s+(\([^)]*\)|[^#\n]*)", re.MULTILINE)


@_filter
def from_subprocess(ctx, rule, node, caps):
    """`subprocess.x(...)` calls, and bare `x(...)` calls where x is imported from subprocess."""
    if node.child_by_field_name("function").type != "identifier":
        return True
    name = caps["f"][0].text
    return any(re.search(rb"\b" + name + rb"\b", m.group(1)) for m in _FROM_SUBPROCESS.finditer(ctx.data))
