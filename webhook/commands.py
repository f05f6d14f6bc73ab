"""Slash commands in pull request comments, as anchored regex constants (one command per line).

Lines inside fenced code blocks (``` or ~~~), indented code and quoted lines (`>`) are not
commands: quoting someone's `/retest` must not run it again. Matching is case-insensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEST = re.compile(r"^/(?:verdict\s+)?test(?:\s+(?P<target>\S.*?))?\s*$", re.IGNORECASE)
RETEST = re.compile(r"^/(?:verdict\s+)?retest\s*$", re.IGNORECASE)
CANCEL = re.compile(r"^/(?:verdict\s+)?cancel\s*$", re.IGNORECASE)
OK_TO_TEST = re.compile(r"^/(?:verdict\s+)?ok-to-test\s*$", re.IGNORECASE)
EXPLAIN = re.compile(r"^/(?:verdict\s+)?explain\s*$", re.IGNORECASE)
HELP = re.compile(r"^/(?:verdict\s+)?help\s*$", re.IGNORECASE)
ANY_COMMAND = re.compile(r"^/(?:verdict\b|test|retest|cancel|ok-to-test|explain|help)\S*", re.IGNORECASE)
VERDICT_PREFIX = re.compile(r"^/verdict\b", re.IGNORECASE)
FENCE = re.compile(r"^\s*(```|~~~)")

COMMANDS = (("test", TEST), ("retest", RETEST), ("cancel", CANCEL), ("ok-to-test", OK_TO_TEST),
            ("explain", EXPLAIN), ("help", HELP))

HELP_TEXT = """\
Verdict understands these commands, one per line, in a pull request comment:

| command | what it does | who may use it |
| --- | --- | --- |
| `/verdict test` or `/test` | run the tests this change can affect | write access or `trusted` |
| `/test all` | run the whole suite | write access or `trusted` |
| `/test <path or scope>` | run only the tests under that path | write access or `trusted` |
| `/retest` | run again only the tests that failed last time | write access or `trusted` |
| `/cancel` | cancel queued and running work for this pull request | write access or `trusted` |
| `/ok-to-test` | approve this fork's (or newcomer's) current head commit and run it | write access or `trusted` |
| `/explain` | post the diagnosis of the latest failures | anyone |
| `/help` | show this help | anyone |
"""


@dataclass(frozen=True)
class Command:
    name: str  # test | retest | cancel | ok-to-test | explain | help | unknown
    target: str | None = None  # for /test: "all", a path or a scope
    line: str = ""


def parse_commands(body: str | None) -> list[Command]:
    """The commands in a comment, in order; a line that looks like a command but is not one is `unknown`."""
    commands: list[Command] = []
    in_fence = False
    for raw in (body or "").splitlines():
        if FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence or raw.startswith(("    ", "\t")) or raw.lstrip().startswith(">"):
            continue
        line = raw.strip()
        if not line.startswith("/"):
            continue
        command = _match(line)
        if command is not None:
            commands.append(command)
    return commands


def _match(line: str) -> Command | None:
    for name, pattern in COMMANDS:
        found = pattern.match(line)
        if found:
            target = found.groupdict().get("target")
            return Command(name, target.strip() if target else None, line)
    if ANY_COMMAND.match(line) or VERDICT_PREFIX.match(line):
        return Command("unknown", None, line)
    return None  # a path like /usr/bin in prose is not addressed to Verdict
