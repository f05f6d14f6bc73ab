"""Which recorded JavaScript functions a change touched, from a text diff and the functions V8 reported.

JavaScript has no parser here; the recorder (scope/recorder.cjs) already knows every function V8
compiled, as [start, end) offsets in the file's text. The old and new versions are compared line
by line; each changed run of old lines (or the point where new lines were inserted) must lie
inside a recorded function, and the innermost one is what changed. A change outside every
function (top-level code, which runs when the module loads) gives None, and so does a change
that cannot be placed: offsets are UTF-16 code units, so text outside the Basic Multilingual
Plane is not narrowed.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right

from scope.python_changes import FunctionSpan


def changed_regions(old: str, new: str) -> list[tuple[int, int]]:
    """[start, end) offsets in `old` of each change; an insertion is a point (start == end).

    Lines are compared first; within a changed run of lines the common leading and trailing
    characters are trimmed, so `a < b` → `a >= b` is the one character that changed.
    """
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    regions = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = old[starts[i1]:starts[i2]], "".join(new_lines[j1:j2])
        prefix = 0
        while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
            prefix += 1
        suffix = 0
        while suffix < min(len(before), len(after)) - prefix and before[-1 - suffix] == after[-1 - suffix]:
            suffix += 1
        regions.append((starts[i1] + prefix, starts[i2] - suffix))
    return regions


def changed_js_functions(old: str, new: str, spans: list[tuple[int, int]]) -> list[FunctionSpan] | None:
    """The innermost recorded function holding each change, or None when a change is outside them all."""
    if any(ord(c) > 0xFFFF for c in old):
        return None
    ordered = sorted(spans)
    found: dict[int, FunctionSpan] = {}
    for start, end in changed_regions(old, new):
        span = _innermost(ordered, start, end)
        if span is None:
            return None
        label = f"the function at line {old.count(chr(10), 0, span[0]) + 1}"
        found[span[0]] = FunctionSpan(label, span[0], span[1] - 1, shown=label)
    return [found[k] for k in sorted(found)]


def _innermost(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The smallest span holding [start, end) (a point must be strictly inside: not at either edge)."""
    best = None
    for span_start, span_end in spans[:bisect_right(spans, (start, float("inf")))]:
        inside = span_start < start < span_end if start == end else span_start <= start and end <= span_end
        if inside and (best is None or span_end - span_start < best[1] - best[0]):
            best = (span_start, span_end)
    return best
