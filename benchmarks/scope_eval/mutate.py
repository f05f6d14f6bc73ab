"""Mutation sites in source modules: a flipped comparison or an integer constant plus one.

Python sites come from the `tokenize` module (so operators and numbers inside strings, comments
and docstrings are never touched) and each mutant must still parse with `ast`. JavaScript sites
come from a small scanner that skips comments, string and template literals and regular
expression literals; each mutant must pass `node --check`. Sites are drawn with a fixed seed,
round-robin over the modules, so a run is repeatable and the mutations spread across the package.
"""

from __future__ import annotations

import ast
import io
import random
import re
import subprocess
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

FLIPS = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "==", "===": "!==", "!==": "==="}
PY_INT = re.compile(r"[0-9]+")
JS_OPERATOR = re.compile(r"===|!==|==|!=|<=|>=|<|>")
JS_NUMBER = re.compile(r"(?<![\w$.])[0-9]+(?![\w$.])")
# A `/` after one of these starts a regular expression literal, not a division.
REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}
REGEX_AFTER_WORDS = ("return", "typeof", "case", "in", "of", "void", "delete", "throw", "new")


@dataclass(frozen=True)
class Mutation:
    """Replace `old` by `new` at 1-based `line`, 0-based `col` of `path`."""

    path: str
    line: int
    col: int
    old: str
    new: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line} {self.old} → {self.new}"

    def apply(self, text: str) -> str:
        lines = text.splitlines(keepends=True)
        row = lines[self.line - 1]
        assert row[self.col:self.col + len(self.old)] == self.old, self.label
        lines[self.line - 1] = row[:self.col] + self.new + row[self.col + len(self.old):]
        return "".join(lines)


def python_sites(path: str, text: str) -> list[Mutation]:
    """Comparison operators and decimal integer literals of one Python module."""
    sites: list[Mutation] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    for tok in tokens:
        (line, col), s = tok.start, tok.string
        if "__name__" in tok.line:
            continue  # `if __name__ == "__main__"`: no test runs it
        if tok.type == tokenize.OP and s in FLIPS:
            sites.append(Mutation(path, line, col, s, FLIPS[s]))
        elif tok.type == tokenize.NUMBER and PY_INT.fullmatch(s) and not (len(s) > 1 and s.startswith("0")):
            sites.append(Mutation(path, line, col, s, str(int(s) + 1)))
    return sites


def python_valid(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def js_sites(path: str, text: str) -> list[Mutation]:
    """Comparison operators and integer literals of one JavaScript file, outside strings and comments."""
    sites: list[Mutation] = []
    for line_no, line, start, chunk in _js_code_chunks(text):
        for m in JS_OPERATOR.finditer(chunk):
            col = start + m.start()
            before, after = line[col - 1:col] if col else "", line[col + len(m.group()):col + len(m.group()) + 1]
            if before in "<>=!" and before or after in "<>=" and after:
                continue  # part of <<, >>, =>, <<=, >>> …
            sites.append(Mutation(path, line_no, col, m.group(), FLIPS[m.group()]))
        for m in JS_NUMBER.finditer(chunk):
            if not (len(m.group()) > 1 and m.group().startswith("0")):
                sites.append(Mutation(path, line_no, start + m.start(), m.group(), str(int(m.group()) + 1)))
    return sites


def _js_code_chunks(text: str) -> list[tuple[int, str, int, str]]:
    """(line number, line, start column, code) for each run of code between literals and comments."""
    chunks: list[tuple[int, str, int, str]] = []
    in_block = False
    for line_no, line in enumerate(text.splitlines(), 1):
        i, start, prev = 0, 0, ""
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = start = len(line)
                    break
                in_block, i = False, end + 2
                start = i
                continue
            c = line[i]
            if line.startswith("//", i):
                break
            if line.startswith("/*", i) or c in "'\"`" or (c == "/" and _starts_regex(prev)):
                chunks.append((line_no, line, start, line[start:i]))
                if line.startswith("/*", i):
                    in_block, i = True, i + 2
                    continue
                i = start = _literal_end(line, i)
                prev = "x"
                continue
            if not c.isspace():
                prev = _last_word(line[:i + 1])
            i += 1
        if start < len(line) and not in_block:
            end = line.find("//", start)
            chunks.append((line_no, line, start, line[start:end if end >= 0 else len(line)]))
    return [c for c in chunks if c[3]]


def _last_word(prefix: str) -> str:
    m = re.search(r"(\w+|\S)$", prefix)
    return m.group(1) if m else ""


def _starts_regex(prev: str) -> bool:
    return prev in REGEX_AFTER or prev in REGEX_AFTER_WORDS


def _literal_end(line: str, i: int) -> int:
    """The index just past the string, template or regex literal starting at `i` (or the line's end)."""
    quote, j, in_class = line[i], i + 1, False
    while j < len(line):
        c = line[j]
        if c == "\\":
            j += 2
            continue
        if quote == "/" and c == "[":
            in_class = True
        elif quote == "/" and c == "]":
            in_class = False
        elif c == quote and not in_class:
            return j + 1
        j += 1
    return len(line)


def js_valid(text: str, suffix: str = ".js") -> bool:
    with tempfile.NamedTemporaryFile("w", suffix=suffix, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        try:
            return subprocess.run(["node", "--check", f.name], capture_output=True, timeout=30).returncode == 0
        except subprocess.TimeoutExpired:
            return False


def modules(root: Path, package: str, language: str, tests: str) -> list[str]:
    """The source modules of the package (test files and test folders left out), repo-relative."""
    suffix = ".py" if language == "python" else ".js"
    found = []
    for path in sorted((root / package).rglob(f"*{suffix}")):
        rel = path.relative_to(root).as_posix()
        name = path.name
        if rel.startswith(tests.rstrip("/") + "/") or "/test/" in f"/{rel}" or "/tests/" in f"/{rel}":
            continue
        if name.startswith("test_") or name in ("conftest.py", "__main__.py") or path.is_symlink():
            continue
        found.append(rel)
    return found


def _interleaved(sites: list[Mutation], rng: random.Random) -> list[Mutation]:
    """Shuffled sites ordered so that pop() gives two comparisons for each constant (flips fail more tests)."""
    flips = [m for m in sites if m.old in FLIPS]
    numbers = [m for m in sites if m.old not in FLIPS]
    rng.shuffle(flips)
    rng.shuffle(numbers)
    ordered: list[Mutation] = []
    while flips or numbers:
        ordered += [flips.pop() for _ in range(min(2, len(flips)))]
        ordered += [numbers.pop()] if numbers else []
    return ordered[::-1]


def draw(root: Path, files: list[str], language: str, count: int, seed: str) -> list[tuple[Mutation, str]]:
    """Up to `count` valid (mutation, mutated text) pairs, round-robin over `files` in a seeded order."""
    rng = random.Random(seed)
    pools: list[tuple[str, list[Mutation]]] = []
    for rel in files:
        text = (root / rel).read_text(encoding="utf-8")
        sites = _interleaved(python_sites(rel, text) if language == "python" else js_sites(rel, text), rng)
        if sites:
            pools.append((text, sites))
    rng.shuffle(pools)
    chosen: list[tuple[Mutation, str]] = []
    turn = 0
    for _ in range(count * 20):  # bounded: each pass consumes one site
        live = [pool for pool in pools if pool[1]]
        if len(chosen) >= count or not live:
            break
        text, sites = live[turn % len(live)]
        turn += 1
        mutation = sites.pop()
        mutated = mutation.apply(text)
        if python_valid(mutated) if language == "python" else js_valid(mutated):
            chosen.append((mutation, mutated))
    return chosen
