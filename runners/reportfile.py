"""Reading a report the sandboxed command wrote, without letting it make the host read anything else.

Every parser takes `path_or_text`: a Path is a report file inside (or beside) the
workspace, read here; a str is the report's text itself (tests, or a report already read).
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_REPORT_BYTES = 64 * 1024 * 1024


def read_report(path: Path, workspace: Path, limit: int = MAX_REPORT_BYTES) -> bytes:
    """The report's bytes, refusing what the tested code could plant to make the host read
    something else: a symlink (final or in the directories), a FIFO or device. Larger reports
    are cut at `limit`, which the parser then reports as truncated."""
    if path.is_relative_to(workspace) and not path.parent.resolve().is_relative_to(workspace.resolve()):
        raise OSError(f"{shown(path.parent, workspace)} leads out of the workspace")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as report:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("it is not a regular file")
        return report.read(limit)


def report_text(path_or_text: Path | str, workspace: Path) -> tuple[str | None, str]:
    """(the report's text, or None with the reason in place of its name; how to name it in errors)."""
    if isinstance(path_or_text, str):
        if not path_or_text.strip():
            return None, "the report is empty"
        return path_or_text, "the report"
    name = f"the report {shown(path_or_text, workspace)}"
    try:
        raw = read_report(path_or_text, workspace)
    except FileNotFoundError:
        return None, f"the test command wrote no report at {shown(path_or_text, workspace)}"
    except OSError as exc:
        return None, f"{name} cannot be read: {exc.strerror or exc}"
    if not raw.strip():
        return None, f"{name} is empty"
    return raw.decode("utf-8", errors="replace"), name


def shown(path: Path, workspace: Path) -> str:
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return str(path)


def load_json(text: str) -> tuple[object, str | None]:
    """The parsed document, or (None, the parser's complaint)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "it is nested too deeply"


def salvage_objects(text: str, key: str) -> list[dict[str, Any]]:
    """The complete objects of every `"key": [ ... ]` array in a truncated or broken JSON text.

    Used when json.loads fails: whatever was written before the cut is still worth reporting.
    """
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    for match in re.finditer(rf'"{re.escape(key)}"\s*:\s*\[', text):
        position = match.end()
        while True:
            position = _skip_separators(text, position)
            if position >= len(text) or text[position] != "{":
                break
            try:
                item, position = decoder.raw_decode(text, position)
            except (json.JSONDecodeError, RecursionError):
                break
            if isinstance(item, dict):
                found.append(item)
    return found


def _skip_separators(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n,":
        position += 1
    return position
