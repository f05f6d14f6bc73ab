"""What one Python file imports, read with the stdlib `ast` module (no code is run).

Each import becomes a record `[module, level, names]`: `import a.b` is `["a.b", 0, []]`,
`from ..pkg import x, y` is `["pkg", 2, ["x", "y"]]`. Besides import statements this follows
`importlib.import_module("literal")` (with a literal `package=` for relative names),
`__import__("literal")` and `pytest_plugins = "mod"` / `[...]`. Names built at run time are not
followed. A file `ast` cannot parse (a syntax error, binary data) is read line by line with a
pattern for `import`/`from … import` statements instead, and the record says so.
"""

from __future__ import annotations

import ast
import re
from typing import Any

PARSER_VERSION = "py1"
IMPORT_LINE = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t*]+)|import[ \t]+([\w., \t]+))", re.MULTILINE)
DYNAMIC_IMPORTERS = {"import_module", "__import__"}

Record = list[Any]  # [module: str, level: int, names: list[str]]


def parse_python(source: bytes) -> dict[str, Any]:
    """{"imports": [records], "error": None or why the file could not be parsed}."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError) as exc:
        return {"imports": _imports_by_pattern(source), "error": f"{type(exc).__name__}: {exc}"}
    records: list[Record] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            records.extend([alias.name, 0, []] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module != "__future__":
                records.append([node.module or "", node.level, [alias.name for alias in node.names]])
        elif isinstance(node, ast.Call):
            record = _dynamic_import(node)
            if record:
                records.append(record)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            records.extend(_pytest_plugins(node))
    return {"imports": records, "error": None}


def _dynamic_import(call: ast.Call) -> Record | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in DYNAMIC_IMPORTERS or not call.args:
        return None
    target = _literal(call.args[0])
    if not target:
        return None
    if not target.startswith("."):
        return [target, 0, []]
    package = _literal(call.args[1]) if len(call.args) > 1 else None
    package = package or next((_literal(k.value) for k in call.keywords if k.arg == "package"), None)
    if not package:
        return None
    level = len(target) - len(target.lstrip("."))
    anchor = package.split(".")[: len(package.split(".")) - (level - 1)]
    rest = target[level:]
    return [".".join([*anchor, rest] if rest else anchor), 0, []]


def _pytest_plugins(node: ast.Assign | ast.AnnAssign) -> list[Record]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in targets) or node.value is None:
        return []
    values = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
    return [[name, 0, []] for name in map(_literal, values) if name]


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _imports_by_pattern(source: bytes) -> list[Record]:
    records: list[Record] = []
    for match in IMPORT_LINE.finditer(source):
        dots, module, names, plain = (g.decode("ascii", "replace") if g else "" for g in match.groups())
        if plain:
            records.extend([n.split(" as ")[0].strip(), 0, []] for n in plain.split(",") if n.strip())
        else:
            listed = [n.split(" as ")[0].strip() for n in names.split(",") if n.strip()]
            records.append([module, len(dots), listed])
    return records
