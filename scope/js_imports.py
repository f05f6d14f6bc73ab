"""What one JavaScript/TypeScript file imports, read by a small tokenizer (no JS engine needed).

Found: `import … from "x"`, `import "x"`, `export … from "x"`, `import type … from "x"`,
`require("x")`, `import("x")`, `jest.mock("x")`/`vi.mock("x")`/`jest.requireActual("x")`, and
`/// <reference path="x" />`. Only string literals count: `require(name)` and template literals
with `${}` are not followed.

The tokenizer skips `//` and `/* */` comments and reads '…', "…" and `…` strings (with escapes and
nested `${…}`), so an import inside a comment or a string is not seen. Its limits: a `/` is taken
for the start of a regular expression by the previous token (as most tools do), which can be wrong
after `)` in rare code such as `if (x) /re/.test(y)`; JSX text is scanned as code, so an
apostrophe in JSX text can hide the imports that follow it in that file (imports come first in
practice); `import` statements are recognised up to 400 tokens long.
"""

from __future__ import annotations

import re
from typing import Any

PARSER_VERSION = "js1"
REFERENCE = re.compile(r"^///\s*<reference\s+path\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
IDENT = re.compile(r"[A-Za-z_$][\w$]*")
NUMBER = re.compile(r"\d[\w.]*")
REGEX_AFTER_WORDS = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case",
                     "do", "else", "yield", "await"}
MOCKERS = {"mock", "requireActual", "requireMock", "doMock", "importActual", "unmock"}
STRING = "\0str"  # token kind marker for string literals


def parse_js(source: bytes) -> dict[str, Any]:
    """{"imports": [specifiers], "error": None}: the module specifiers this file refers to."""
    text = source.decode("utf-8", "replace")
    tokens = tokenize(text)
    specs = _specifiers(tokens)
    specs.extend(REFERENCE.findall(text))
    return {"imports": list(dict.fromkeys(specs)), "error": None}


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens: ("id", name), (STRING, value), ("p", punctuation); comments dropped."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"":
            i = _quoted(text, i, tokens)
        elif c == "`":
            i = _template(text, i, tokens)
        elif c == "/" and _regex_allowed(tokens):
            i = _regex(text, i)
        elif match := IDENT.match(text, i):
            tokens.append(("id", match.group()))
            i = match.end()
        elif match := NUMBER.match(text, i):
            i = match.end()
        else:
            tokens.append(("p", c))
            i += 1
    return tokens


def _quoted(text: str, i: int, tokens: list[tuple[str, str]]) -> int:
    quote, j, out = text[i], i + 1, []
    while j < len(text) and text[j] != quote and text[j] != "\n":
        if text[j] == "\\":
            j += 1
        elif j < len(text):
            out.append(text[j])
        j += 1
    tokens.append((STRING, "".join(out)))
    return j + 1


def _template(text: str, i: int, tokens: list[tuple[str, str]]) -> int:
    j, out, dynamic = i + 1, [], False
    while j < len(text) and text[j] != "`":
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith("${", j):
            dynamic = True
            depth, j = 1, j + 2
            while j < len(text) and depth:
                if text[j] in "'\"`":
                    j = (_template if text[j] == "`" else _quoted)(text, j, [])
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            continue
        out.append(text[j])
        j += 1
    tokens.append((STRING, "\0dynamic" if dynamic else "".join(out)))
    return j + 1


def _regex_allowed(tokens: list[tuple[str, str]]) -> bool:
    if not tokens:
        return True
    kind, value = tokens[-1]
    if kind == "id":
        return value in REGEX_AFTER_WORDS
    return kind == "p" and value not in ")]}"


def _regex(text: str, i: int) -> int:
    j, in_class = i + 1, False
    while j < len(text) and text[j] != "\n":
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            return j + 1
        j += 1
    return j


def _specifiers(tokens: list[tuple[str, str]]) -> list[str]:
    specs: list[str] = []
    for i, (kind, value) in enumerate(tokens):
        if kind != "id" or (i and tokens[i - 1] == ("p", ".") and value not in MOCKERS):
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if value in ("require", "import") or value in MOCKERS:
            if nxt == ("p", "(") and i + 2 < len(tokens) and tokens[i + 2][0] == STRING:
                specs.append(tokens[i + 2][1])
                continue
        if value == "import" and nxt[0] == STRING:
            specs.append(nxt[1])
        elif value in ("import", "export") and nxt != ("p", "("):
            spec = _from_clause(tokens, i + 1)
            if spec is not None:
                specs.append(spec)
    return [s for s in specs if s and not s.startswith("\0")]


def _from_clause(tokens: list[tuple[str, str]], start: int) -> str | None:
    for j in range(start, min(start + 400, len(tokens) - 1)):
        kind, value = tokens[j]
        if kind == "p" and value in ";=(":
            return None
        if kind == "id" and value in ("import", "export") and j > start:
            return None
        if (kind, value) == ("id", "from") and tokens[j + 1][0] == STRING:
            return tokens[j + 1][1]
    return None
