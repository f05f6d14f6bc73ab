"""What a pull request comment says about failed tests: `/explain`'s text and `/retest`'s node ids.

Comments are cut to GitHub's limit (65,536 characters; counted here in UTF-8 bytes, which is
never more lenient) with a note pointing at the run page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from checks import truncate_utf8

MAX_COMMENT_BYTES = 65_536
MESSAGE_LINES = 12
MESSAGE_CHARS = 1_500
FAILED = ("failed", "error")
COMMENT_NOTE = "\n\n… cut by Verdict to fit GitHub's comment limit; every failure is on the run page."


def fit(body: str, note: str = COMMENT_NOTE) -> str:
    """`body` within GitHub's comment limit."""
    return truncate_utf8(body, MAX_COMMENT_BYTES, note)


def failed_node_ids(rows: Iterable[Any]) -> list[str]:
    """pytest node ids (`tests/test_x.py::TestY::test_z[1]`) of failed or errored results, in order, once each."""
    ids: list[str] = []
    for row in rows:
        if row.status in FAILED and (node := node_id(row.name, row.classname or "", row.file)) not in ids:
            ids.append(node)
    return ids


def node_id(name: str, classname: str, file: str | None) -> str:
    """Best effort from JUnit's classname (`tests.test_x.TestY`) and the file, when it is known."""
    if file:
        module = file.removesuffix(".py").replace("/", ".")
        inner = classname[len(module) + 1:].split(".") if classname.startswith(module + ".") else []
        return "::".join([file, *inner, name])
    pieces = [p for p in classname.split(".") if p]
    classes: list[str] = []
    while len(pieces) > 1 and pieces[-1][:1].isupper():
        classes.insert(0, pieces.pop())
    if not pieces:
        return name
    return "::".join(["/".join(pieces) + ".py", *classes, name])


def explanation(login: str, head_sha: str, run: Any | None, rows: Sequence[Any], details_url: str | None) -> str:
    """`/explain`'s answer about the latest completed run of `head_sha` (None: none has finished)."""
    sha = f"`{head_sha[:12]}`"
    if run is None:
        return f"@{login}, no run of {sha} has finished yet, so there is nothing to explain."
    failures = [row for row in rows if row.status in FAILED]
    where = f"attempt {run.attempt}, [run page]({details_url})"
    if not failures:
        verdict = run.title or run.conclusion or "done"
        return f"@{login}, no failures in the latest run of {sha} ({where}): {verdict}."
    parts = [f"@{login}, {len(failures)} failed in the latest run of {sha} ({where}):"]
    for row in failures:
        location = f"{row.file}:{row.line}" if row.file and row.line else (row.file or row.classname or "?")
        parts.append(f"**{_inline(row.name)}** — `{_inline(location)}`\n{_block(row.message or row.trace or '')}")
    return fit("\n\n".join(parts), COMMENT_NOTE.replace("every failure", f"every failure ({details_url})"))


def _inline(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")[:300]


def _block(message: str) -> str:
    lines = message.strip().splitlines()[:MESSAGE_LINES]
    text = "\n".join(lines)[:MESSAGE_CHARS] or "(no message)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)  # a message with ``` in it cannot close the block early
    return f"{fence}\n{text}\n{fence}"
