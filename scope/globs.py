"""Path globs as config files write them: `*` within a name, `**` across folders, `?`, `[...]`.

A pattern without a `/` matches a file's name at any depth (`*.md`, `package.json`); a pattern
with one is anchored at the repository root (`docs/**`, `.github/workflows/*.yml`); a leading `/`
anchors a bare name (`/conftest.py` is only the root conftest). A pattern ending in `/` matches
everything below that folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression a glob stands for, matched against a repo-relative posix path."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, pattern: str) -> bool:
    """Whether the repo-relative `path` matches the glob `pattern`."""
    return compile_glob(pattern).match(path) is not None


def first_match(path: str, patterns: Iterable[str]) -> str | None:
    """The first pattern `path` matches, or None."""
    for pattern in patterns:
        if matches(path, pattern):
            return pattern
    return None


def is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")
