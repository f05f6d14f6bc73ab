"""Which parser reads which report format: the one table the runners consult after a run.

Every parser has the shape `parse(path_or_text, workspace, sandbox_root) -> (cases, error)`
and never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runners.errors import RunnerMisconfigured
from runners.jest import parse_jest, parse_vitest
from runners.junit import parse_junit
from runners.mocha import parse_mocha
from runners.result import TestCase

Parser = Callable[[Path | str, Path, str], tuple[list[TestCase], str | None]]

PARSERS: dict[str, Parser] = {
    "junit": parse_junit,
    "jest": parse_jest,
    "vitest": parse_vitest,
    "mocha": parse_mocha,
}


def parser_for(report_format: str) -> Parser:
    """The parser of a format, or RunnerMisconfigured naming the known ones."""
    try:
        return PARSERS[report_format]
    except KeyError:
        raise RunnerMisconfigured(f"unknown report format {report_format!r}: choose one of "
                                  f"{', '.join(sorted(PARSERS))}") from None


def parse_report(report_format: str, path_or_text: Path | str, workspace: Path,
                 sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    return parser_for(report_format)(path_or_text, workspace, sandbox_root)
