"""How a Selection reads: Markdown for the check run's summary, plain text for the terminal."""

from __future__ import annotations

from scope.selection import KIND_MEANINGS, Selection

MAX_LISTED = 200  # test files listed in full; GitHub caps a summary at 65,535 characters
MAX_CHARS = 60000
MAX_NODES = 10  # node ids named per test file (the rest are counted)


def summary_markdown(selection: Selection) -> str:
    """The check run summary: how many test files run, the scope kind, and why each one."""
    meaning = KIND_MEANINGS.get(selection.kind, "")
    lines = [f"**Scope: {selection.kind}** ({meaning}) — {_count(selection)}.", "", _sentence(selection.reason)]
    if selection.changed:
        lines += ["", f"{len(selection.changed)} changed file{'s' * (len(selection.changed) != 1)}."]
    if selection.selected and selection.mode == "affected":
        lines += ["", "<details><summary>Why these tests</summary>", ""]
        size = sum(len(line) for line in lines)
        for i, test in enumerate(selection.selected):
            block = [f"- `{test.file}`" + (f" ({_nodes(test.tests, '`')})" if test.tests else "")]
            block += [f"  - {why}" for why in test.why]
            size += sum(len(line) + 1 for line in block)
            if i >= MAX_LISTED or size > MAX_CHARS:
                lines.append(f"- … and {len(selection.selected) - i} more test files")
                break
            lines += block
        lines += ["", "</details>"]
    elif selection.mode == "all":
        lines += ["", "<details><summary>Why these tests</summary>", "",
                  f"Every test file runs: {selection.reason}.", "", "</details>"]
    return "\n".join(lines) + "\n"


def summary_text(selection: Selection, *, explain: bool = False) -> str:
    """What `verdict scope` prints: a headline, the reason, the test files (and with `explain`, why)."""
    lines = [f"scope: {selection.kind} — {_count(selection)} (mode {selection.mode})",
             f"reason: {selection.reason}"]
    if selection.changed:
        lines.append(f"changed: {len(selection.changed)} file{'s' * (len(selection.changed) != 1)}")
    for test in selection.selected:
        lines.append(f"  {test.file}" + (f" [{_nodes(test.tests)}]" if test.tests else ""))
        if explain:
            lines += [f"      why: {why}" for why in test.why]
    return "\n".join(lines)


def _nodes(tests: list[str], quote: str = "") -> str:
    shown = ", ".join(f"{quote}{t}{quote}" for t in tests[:MAX_NODES])
    return shown + (f" and {len(tests) - MAX_NODES} more" if len(tests) > MAX_NODES else "")


def _count(selection: Selection) -> str:
    total = selection.total_test_files
    if selection.mode == "all":
        return f"all {total} test file{'s' * (total != 1)} selected"
    if selection.skipped:
        return f"0 of {total} test files selected (skipped)"
    return f"{len(selection.selected)} of {total} test files selected"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
