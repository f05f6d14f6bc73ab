"""What a check run says: conclusion, title, Markdown summary and annotations, within GitHub's limits.

GitHub caps `output.summary` and `output.text` at 65,535 characters; we count UTF-8 bytes,
which is never more lenient, and truncate with a note instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runners.result import Outcome, RunResult, TestCase, TestStatus

CHECK_NAME = "Verdict"
CONFIG_CHECK_NAME = "verdict/config"
# Check run buttons (GitHub: at most 3; label ≤ 20, description ≤ 40, identifier ≤ 20 characters).
APPROVE_ACTION = {"label": "Approve run", "description": "Run this commit's tests", "identifier": "approve"}
RERUN_FAILED_ACTION = {"label": "Re-run failed", "description": "Run only the tests that failed again",
                       "identifier": "rerun-failed"}
RERUN_ALL_ACTION = {"label": "Re-run all", "description": "Run the whole suite again", "identifier": "rerun-all"}
APPROVAL_TITLE = "Approval needed to run this pull request"
MAX_OUTPUT_BYTES = 65_535
MAX_ANNOTATION_MESSAGE_BYTES = 64 * 1024 - 1
MAX_TITLE_CHARS = 255
TRACE_LINES = 30
SUMMARY_FAILURES = 50  # failed tests listed in the summary; every one still gets an annotation
TRUNCATION_NOTE = "\n\n… truncated by Verdict to fit GitHub's 65,535-byte limit; the full log is on the run page."


@dataclass
class CheckReport:
    conclusion: str  # success | failure | neutral | timed_out | cancelled
    title: str
    summary: str
    text: str = ""
    annotations: list[dict] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def output(self) -> dict:
        """The check run `output` object without annotations (they are sent in batches)."""
        out = {"title": self.title, "summary": self.summary}
        if self.text:
            out["text"] = self.text
        return out


def truncate_utf8(text: str, max_bytes: int, note: str = TRUNCATION_NOTE) -> str:
    """Cut `text` to at most `max_bytes` UTF-8 bytes, never splitting a character, ending with `note`."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    room = max_bytes - len(note.encode("utf-8"))
    if room <= 0:
        return note.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return raw[:room].decode("utf-8", errors="ignore") + note


def totals_for(result: RunResult) -> dict[str, int]:
    return {
        "total": len(result.tests),
        "passed": result.count(TestStatus.PASSED),
        "failed": result.count(TestStatus.FAILED),
        "skipped": result.count(TestStatus.SKIPPED),
        "errors": result.count(TestStatus.ERROR),
    }


def conclusion_for(result: RunResult) -> str:
    if result.outcome is Outcome.TIMED_OUT:
        return "timed_out"
    if result.outcome is Outcome.OUT_OF_MEMORY:
        return "failure"
    if result.outcome is Outcome.ERROR:
        return "failure"  # never let an unrunnable suite pass a required check
    if result.failures:
        return "failure"
    if result.exit_code == 5 and not result.tests:  # pytest: no tests collected
        return "neutral"
    if result.exit_code not in (0, None):
        return "failure"
    return "success" if result.tests else "neutral"


def title_for(result: RunResult, totals: dict[str, int]) -> str:
    if result.outcome is Outcome.TIMED_OUT:
        return f"Timed out after {result.duration:.0f} s"
    if result.outcome is Outcome.OUT_OF_MEMORY:
        return "Out of memory: the test command was killed at the memory limit"
    if result.outcome is Outcome.ERROR and not result.tests:
        return "The tests could not be run"
    if not totals["total"]:
        return "No tests ran" if result.exit_code in (0, 5, None) else f"Test command failed (exit {result.exit_code})"
    parts = [f"{totals[k]} {label}" for k, label in (("failed", "failed"), ("errors", "errors"),
             ("passed", "passed"), ("skipped", "skipped")) if totals[k]]
    return ", ".join(parts)[:MAX_TITLE_CHARS]


def annotations_for(failures: list[TestCase]) -> list[dict]:
    """One `failure` annotation per failing test that has a file and line."""
    annotations = []
    for case in failures:
        if not case.file or not case.line:
            continue
        message = case.message.strip() or f"{case.name} {case.status.value}"
        trace = _trimmed(case.trace)
        if trace and trace not in message:
            message = f"{message}\n\n{trace}"
        annotations.append({
            "path": case.file.lstrip("/"),
            "start_line": case.line,
            "end_line": case.line,
            "annotation_level": "failure",
            "title": _test_label(case)[:MAX_TITLE_CHARS],
            "message": truncate_utf8(message, MAX_ANNOTATION_MESSAGE_BYTES, note="\n… (trimmed)"),
        })
    return annotations


def report_for(result: RunResult, *, details_url: str | None = None, preamble: str = "",
               artifacts: Sequence[tuple[str, int, str]] = (), appendix: str = "") -> CheckReport:
    """The check run for a result; `artifacts` are (name, bytes, download URL) listed in the summary,
    `appendix` (e.g. why these tests were chosen) closes it."""
    totals = totals_for(result)
    title = title_for(result, totals)
    summary = _summary(result, totals, title, details_url, preamble)
    if artifacts:
        summary += "\n\n#### Artifacts\n\n" + "\n".join(
            f"- [{_md(name)}]({url}) ({size:,} bytes)" for name, size, url in artifacts)
    if appendix:
        summary += "\n\n" + appendix
    text = details_for(result.failures)
    return CheckReport(
        conclusion=conclusion_for(result),
        title=title,
        summary=truncate_utf8(summary, MAX_OUTPUT_BYTES),
        text=text,
        annotations=annotations_for(result.failures),
        totals=totals,
    )


def actions_for(conclusion: str, failed: bool) -> list[dict[str, str]]:
    """The buttons a completed check run offers: approve a run that waits, re-run a finished one."""
    if conclusion == "action_required":
        return [dict(APPROVE_ACTION)]
    return [dict(RERUN_FAILED_ACTION), dict(RERUN_ALL_ACTION)] if failed else [dict(RERUN_ALL_ACTION)]


def approval_report(why: str, details_url: str | None = None) -> CheckReport:
    """A pull request run that waits until someone with write access approves its head commit."""
    summary = (f"### {APPROVAL_TITLE}\n\nThis pull request is {why}, so Verdict does not run its code until "
               "someone with write access to this repository (or listed as `trusted` in `.github/verdict.yml`) "
               "approves this commit: press **Approve run** above, or comment `/ok-to-test` on the pull request."
               "\n\nThe approval is for this commit only: a new push needs a new approval.")
    if details_url:
        summary += f"\n\nRun page: {details_url}"
    return CheckReport(conclusion="action_required", title=APPROVAL_TITLE, summary=summary)


def config_report(path: str, problems: Sequence[tuple[int, str]]) -> CheckReport:
    """The "verdict/config" check run: one failure annotation per problem, on its line of `path`."""
    title = f"Invalid {path}"
    listed = "\n".join(f"- line {line}: {_md(message)}" for line, message in problems)
    summary = (f"### {title}\n\n{listed}\n\nVerdict did not run the tests: fix `{path}` on the default branch "
               "(and any file it `_extends`), then re-run.")
    annotations = [{"path": path, "start_line": line, "end_line": line, "annotation_level": "failure",
                    "title": title, "message": truncate_utf8(message, MAX_ANNOTATION_MESSAGE_BYTES, note="…")}
                   for line, message in problems]
    return CheckReport(conclusion="failure", title=title, summary=truncate_utf8(summary, MAX_OUTPUT_BYTES),
                       annotations=annotations)


def error_report(title: str, explanation: str, *, conclusion: str = "neutral") -> CheckReport:
    """A report for a run that ended without test results (infrastructure trouble, crashes)."""
    summary = truncate_utf8(f"### {title}\n\n{explanation}\n", MAX_OUTPUT_BYTES)
    return CheckReport(conclusion=conclusion, title=title[:MAX_TITLE_CHARS], summary=summary)


def _summary(result: RunResult, totals: dict[str, int], title: str, details_url: str | None,
             preamble: str) -> str:
    lines = [preamble] if preamble else []
    lines += [
        f"### {title}",
        "",
        "| total | passed | failed | errors | skipped | duration |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {totals['total']} | {totals['passed']} | {totals['failed']} | {totals['errors']} "
        f"| {totals['skipped']} | {result.duration:.2f} s |",
        "",
    ]
    if result.resources is not None and result.resources.samples:
        usage = result.resources
        lines += [f"Resources: peak memory {usage.peak_memory_mb:.0f} MB, average {usage.avg_memory_mb:.0f} MB, "
                  f"CPU {usage.avg_cpu_percent:.0f}% of one core on average.", ""]
    if result.error:
        lines += [f"> {line}" for line in result.error.splitlines()] + [""]
    if result.failures:
        lines += ["#### Failed tests", ""]
        for case in result.failures[:SUMMARY_FAILURES]:
            where = f" — `{case.file}:{case.line}`" if case.file and case.line else ""
            first = case.message.strip().splitlines()[0] if case.message.strip() else case.status.value
            lines.append(f"- **{_md(_test_label(case))}**{where}: {_md(first[:300])}")
        if len(result.failures) > SUMMARY_FAILURES:
            more = len(result.failures) - SUMMARY_FAILURES
            lines.append(f"- … and {more} more (annotations and the run page list all)")
        lines.append("")
    slowest = sorted((t for t in result.tests if t.duration > 0), key=lambda t: t.duration, reverse=True)[:5]
    if slowest:
        lines += ["#### Slowest tests", "", "| test | seconds |", "| --- | ---: |"]
        lines += [f"| {_md(_test_label(t))} | {t.duration:.3f} |" for t in slowest]
        lines.append("")
    if details_url:
        lines.append(f"Logs and full results: {details_url}")
    return "\n".join(lines)


def details_for(failures: list[TestCase]) -> str:
    blocks = []
    for case in failures:
        blocks.append(f"#### {_md(_test_label(case))}\n\n```\n{case.trace.strip() or case.message}\n```\n")
    return truncate_utf8("\n".join(blocks), MAX_OUTPUT_BYTES)


def _trimmed(trace: str) -> str:
    lines = trace.strip().splitlines()
    if len(lines) <= TRACE_LINES:
        return "\n".join(lines)
    return "…\n" + "\n".join(lines[-TRACE_LINES:])


def _test_label(case: TestCase) -> str:
    return f"{case.classname}.{case.name}" if case.classname else case.name


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
