"""Which Python packages a workspace asks for, as one requirements file pip can install safely.

    python_requirements(workspace) -> PythonRequirements(sources, text) | None

The rule (first match wins):
  1. `requirements.txt` at the root: it, then `requirements-dev.txt` and
     `requirements/test.txt` when present, concatenated in that order.
  2. else `pyproject.toml`'s `[project] dependencies` plus its
     `[project.optional-dependencies]` `test` and `dev` lists, read with tomllib. The
     project itself is never built or installed (that would run its build backend), and an
     entry naming the project (`myproj[test]`) is dropped.
  3. else nothing: the workspace needs no install.
The cache key is a hash of the resulting text, so it changes exactly when one of them does.

Only what installs as a binary wheel without running code is accepted, because pip runs
with `--only-binary=:all:`, which covers what the index offers but not an editable install,
a local path, a VCS checkout or an sdist URL: those would be built (setup.py, a PEP 517
backend). So each line must be a plain requirement (name, extras, version, markers,
`--hash`), a direct reference to a `.whl` URL, or one of ALLOWED_OPTIONS; anything else
(`-e`, `-r`/`-c` includes, `--no-binary`, paths, `git+...`) is refused with the file and
line named, before pip runs.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from runners.reportfile import read_report

REQUIREMENTS_FILES = ("requirements.txt", "requirements-dev.txt", "requirements/test.txt")
PYPROJECT = "pyproject.toml"
OPTIONAL_GROUPS = ("test", "dev")
MAX_REQUIREMENTS_BYTES = 1024 * 1024
# Options a requirements file may carry: where to find wheels, and how strictly to check them.
ALLOWED_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
                   "--pre", "--prefer-binary", "--only-binary", "--require-hashes"}
PER_REQUIREMENT_OPTION = re.compile(r"\s--hash[=\s]\S+")


class UnsafeRequirements(ValueError):
    """A requirements input pip could only honour by building something; the message says where."""


@dataclass(frozen=True)
class PythonRequirements:
    sources: tuple[str, ...]  # workspace-relative files the text came from
    text: str  # one requirements file, checked by check_line


def python_requirements(workspace: Path) -> PythonRequirements | None:
    """The workspace's Python dependencies (see the module docstring), or None when it declares none.
    UnsafeRequirements when a line would need a build."""
    if _regular_file(workspace / REQUIREMENTS_FILES[0]):
        sources = tuple(name for name in REQUIREMENTS_FILES if _regular_file(workspace / name))
        parts = []
        for name in sources:
            text = read_report(workspace / name, workspace, MAX_REQUIREMENTS_BYTES).decode("utf-8", "replace")
            parts.append(f"# {name}\n" + "\n".join(checked_lines(text, name)))
        return PythonRequirements(sources, "\n".join(parts) + "\n")
    if _regular_file(workspace / PYPROJECT):
        entries = pyproject_requirements(read_report(workspace / PYPROJECT, workspace, MAX_REQUIREMENTS_BYTES))
        if not entries:
            return None
        return PythonRequirements((PYPROJECT,), "\n".join(checked_lines("\n".join(entries), PYPROJECT)) + "\n")
    return None


def pyproject_requirements(data: bytes) -> list[str]:
    """`[project] dependencies` and the test/dev optional ones, minus the project itself."""
    try:
        project = tomllib.loads(data.decode("utf-8", "replace")).get("project")
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeRequirements(f"{PYPROJECT} is not valid TOML: {exc}") from None
    if not isinstance(project, dict):
        return []
    optional = project.get("optional-dependencies")
    optional = optional if isinstance(optional, dict) else {}
    lists = [project.get("dependencies"), *(optional.get(group) for group in OPTIONAL_GROUPS)]
    own_name = canonicalize_name(str(project.get("name", "")))
    entries: list[str] = []
    for entries_list in lists:
        for entry in entries_list if isinstance(entries_list, list) else []:
            if not isinstance(entry, str):
                raise UnsafeRequirements(f"{PYPROJECT}: dependency {entry!r} is not a string")
            if own_name and _name_of(entry) == own_name:
                continue  # `myproj[test]`: the project itself, which is never installed
            entries.append(entry)
    return entries


def checked_lines(text: str, source: str) -> list[str]:
    """The logical lines of a requirements text (continuations joined, comments dropped), each
    checked by check_line."""
    lines: list[str] = []
    for number, line in _logical_lines(text):
        try:
            check_line(line)
        except UnsafeRequirements as exc:
            raise UnsafeRequirements(f"{source} line {number}: {exc}") from None
        lines.append(line)
    return lines


def check_line(line: str) -> None:
    """Refuse a line pip could only honour by building (or reading other files)."""
    if line.startswith("-"):
        option = re.split(r"[=\s]", line, maxsplit=1)[0]
        if option not in ALLOWED_OPTIONS:
            raise UnsafeRequirements(f"{option!r} is not allowed: Verdict installs binary wheels only and "
                                     f"accepts only {', '.join(sorted(ALLOWED_OPTIONS))}")
        return
    spec = PER_REQUIREMENT_OPTION.sub("", f" {line}").strip()
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise UnsafeRequirements(f"{line!r} is not a requirement Verdict can install from a wheel "
                                 f"(no paths, VCS URLs or editable installs): {exc}") from None
    if requirement.url and not urlparse(requirement.url).path.endswith(".whl"):
        raise UnsafeRequirements(f"{requirement.name} @ {requirement.url} is not a wheel: "
                                 "a direct reference must name a .whl file")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    joined: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = re.sub(r"(^|\s)#.*$", "", pending + raw).strip()
        pending = ""
        if line:
            joined.append((start, line))
    return joined


def _name_of(entry: str) -> str | None:
    try:
        return canonicalize_name(Requirement(entry).name)
    except InvalidRequirement:
        return None


def _regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()
