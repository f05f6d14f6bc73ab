"""Narrow a changed module's tests to those that ran its changed functions (scope.impact).

For one changed module the import graph has already found the test files that reach it, each
with its chains. With impact data of the base commit, and a change that only touches function
bodies, those files shrink to the test functions (node ids) that ran a changed function in the
recorded run (JavaScript test files stay whole: the runners select them by file); a file none of
whose tests ran one is left out, and a test that ran one but is not reached by the import graph
(a plugin, a dynamic import) is added. A file the record did not see run whole stays whole, and
tests that started processes or lost the tracer stay in whenever their file is reached. `narrow`
returns the reason instead when the change cannot be narrowed; the caller then keeps the import
graph's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from scope.graph import DependencyGraph
from scope.impact import ImpactMap
from scope.js_changes import changed_js_functions
from scope.python_changes import FunctionSpan, changed_functions
from scope.snapshot import JS_EXTS


@dataclass
class Narrowed:
    """What one changed module selects: whole test files and single test functions, each with why."""

    whole: dict[str, list[str]] = field(default_factory=dict)
    nodes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.whole and not self.nodes


class Narrower:
    """Narrows changed modules of one change with one ImpactMap (recorded on the change's base)."""

    def __init__(self, impact: ImpactMap, graph: DependencyGraph, read_base: Callable[[str], bytes | None],
                 read_head: Callable[[str], bytes | None]):
        self.impact, self.graph = impact, graph
        self.read_base, self.read_head = read_base, read_head
        self.label = impact.commit[:12]

    def narrow(self, path: str, reached: dict[str, list[str]]) -> Narrowed | str:
        """The narrowed selection for changed module `path`, or why it keeps the import graph's."""
        spans = self._narrowable_spans(path)
        if isinstance(spans, str):
            return spans
        result = Narrowed()
        for span in spans:
            for index in sorted(self.impact.tests_running(path, span)):
                file = self.impact.tests[index][0]
                if file in self.graph.tests:
                    why = f"{path} changed in {span} → run by {self.impact.node_id(index)} " \
                          f"in the recorded full run of {self.label}"
                    result.nodes.setdefault(file, {}).setdefault(self.impact.node_id(index), []).append(why)
        for file, chains in reached.items():
            if not self.impact.narrows(file):
                result.whole[file] = [f"{chain} (the recorded run of {self.label} did not run this file whole)"
                                      for chain in chains]
                continue
            for index in sorted(self.impact.runs_of(file) & self.impact.unsafe):
                why = f"{chains[0]} → {self.impact.node_id(index)} starts processes or ran untraced: never narrowed"
                result.nodes.setdefault(file, {}).setdefault(self.impact.node_id(index), []).append(why)
        self._whole_where_due(result)
        left_out = sorted(f for f in reached if f not in result.whole and f not in result.nodes)
        if left_out:
            n = len(left_out)
            result.note = (f"{n} test file{'s' * (n != 1)} importing {path} ran none of its changed functions "
                           f"in the recorded run of {self.label}")
        return result

    def _narrowable_spans(self, path: str) -> list[FunctionSpan] | str:
        """The changed functions of `path` when narrowing them is safe, else why it is not."""
        old, new = self.read_base(path), self.read_head(path)
        if old is None or new is None:
            return f"{path} is new, so no recorded run knows it"
        spans = self._changed(path, old, new)
        if isinstance(spans, str):
            return spans
        if path in self.impact.preloaded:
            return f"{path} was imported before the recording began"
        if not spans:  # nothing a test can notice; the import graph's answer still runs, as without impact data
            return f"{path}: only comments or formatting changed"
        early = self.impact.import_time_function(path, spans)
        if early is not None:
            return f"{path}: {early} also runs at import time"
        cached = next((s for s in spans if s.memoized), None)
        if cached is not None:
            return f"{path}: {cached} is memoized, so later tests reuse what an earlier one computed"
        return spans

    def _whole_where_due(self, result: Narrowed) -> None:
        """Select whole the files that are selected by file anyway: JavaScript tests, files the record did not
        see run whole, and files every one of whose tests is selected."""
        for file in list(result.nodes):
            everything = {self.impact.node_id(i) for i in self.impact.runs_of(file)}
            by_file = not file.endswith(".py") or not self.impact.narrows(file)
            if by_file or file in result.whole or (everything and everything <= set(result.nodes[file])):
                chains = [w for ws in result.nodes.pop(file).values() for w in ws]
                result.whole[file] = result.whole.get(file, []) + chains

    def _changed(self, path: str, old: bytes, new: bytes) -> list[FunctionSpan] | str:
        """The changed functions of `path`, or why they cannot be told apart from load-time code."""
        if path.endswith(".py"):
            spans = changed_functions(old, new)
            return f"{path} changed outside function bodies (code that runs at import)" if spans is None else spans
        if not path.endswith(JS_EXTS):
            return f"{path} is neither Python nor JavaScript"
        try:
            old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
        except UnicodeDecodeError:
            return f"{path} is not UTF-8 text"
        length = self.impact.lengths.get(path)
        if length is None:
            return f"{path} was never loaded in the recorded run"
        if length != len(old_text.encode("utf-16-le")) // 2:
            return f"{path} ran as other text than the file's (a loader rewrote it)"
        spans = changed_js_functions(old_text, new_text, self.impact.spans.get(path, []))
        return f"{path} changed outside its functions (code that runs when it loads)" if spans is None else spans
