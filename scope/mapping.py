"""Map each changed file to tests: `scope.paths` globs, the head graph, the base graph for deleted files.

Used by `select_tests` once no safety rule asked for everything. A changed file nothing maps
(not a source file in either graph, not an imported JSON file, not matched by `scope.paths`
nor declared irrelevant by `scope.skip_if_only_changed`) turns the selection into a full run.
"""

from __future__ import annotations

from scope.changes import ChangeSet
from scope.config import ScopeConfig
from scope.dependents import reached_tests
from scope.globs import first_match, is_glob, matches
from scope.graph import DependencyGraph
from scope.js_graph import is_js_test
from scope.narrowing import Narrowed, Narrower
from scope.python_graph import is_python_test
from scope.selection import SelectedTest, Selection, full_selection

MAX_WHY = 10  # reason chains kept per test file
MAX_NARROWED = 200  # above this many changed modules, impact data is not used (each is parsed twice and walked)


class Mapper:
    """Collects the tests each changed file selects, then builds the Selection."""

    def __init__(self, graph: DependencyGraph, base: DependencyGraph | None, changes: ChangeSet,
                 config: ScopeConfig, narrower: Narrower | None = None):
        self.graph, self.base, self.changes, self.config = graph, base, changes, config
        self.narrower = narrower
        self.whole: dict[str, list[str]] = {}  # file → why
        self.nodes: dict[str, dict[str, list[str]]] = {}  # file → node id → why
        self.contributors: set[str] = set()  # changed non-test files that selected something
        self.notes: list[str] = []
        self.narrowed = 0  # changed modules impact data narrowed

    def selection(self) -> Selection:
        unmapped = self._map_changes()
        if unmapped:
            more = f" (and {len(unmapped) - 1} more)" if len(unmapped) > 1 else ""
            reason = (f"{unmapped[0]}{more} changed and nothing maps it to tests "
                      "(map it with scope.paths or scope.skip_if_only_changed)")
            return full_selection(self.graph.tests, self.changes.paths, reason)
        for selector in self.config.always:
            self._add_selector(selector, f"always runs (scope.always: {selector})")
        selected = self._selected()
        return Selection("affected", self._reason(selected), self.changes.paths, len(self.graph.tests), selected,
                         self._kind(selected))

    def _map_changes(self) -> list[str]:
        graph, deleted = self.graph, set(self.changes.deleted)
        unmapped: list[str] = []
        head_starts: dict[str, str] = {}
        base_starts: dict[str, str] = {}
        for path in self.changes.paths:
            mapped = self._map_by_config(path)
            if path in graph.files and (graph.is_source(path) or graph.importers.get(path)):
                head_starts[path] = self._how(path)
            elif path in deleted and self.base and (self.base.is_source(path) or self.base.importers.get(path)):
                base_starts[path] = self._how(path)
            elif path in deleted and (is_python_test(path) or is_js_test(path)):
                self.notes.append(f"{path} was deleted (a test file: nothing to run for it)")
            elif not mapped and not first_match(path, self.config.skip_if_only_changed):
                unmapped.append(path)
        self._narrow(head_starts)
        self._add_reached(reached_tests(graph, head_starts), head_starts)
        if self.base:
            reached = reached_tests(self.base, base_starts, past=True)
            self._add_reached({t: why for t, why in reached.items() if t in graph.tests}, base_starts)
        quiet = sorted(p for p in {**head_starts, **base_starts} if p not in self.contributors
                       and p not in graph.tests)
        if quiet:
            self.notes.append(f"no test depends on {_listing(quiet)}")
        return unmapped

    def _narrow(self, head_starts: dict[str, str]) -> None:
        """Let impact data narrow the changed modules it can; they leave `head_starts` (in place)."""
        if self.narrower is None:
            return
        candidates = sorted(p for p in head_starts if self._narrowable(p))
        if len(candidates) > MAX_NARROWED:
            self.notes.append(f"impact data not used: {len(candidates)} changed modules (at most {MAX_NARROWED})")
            return
        kept: list[str] = []
        for path in candidates:
            result = self.narrower.narrow(path, reached_tests(self.graph, {path: head_starts[path]}))
            if not isinstance(result, Narrowed):
                kept.append(result)
                continue
            del head_starts[path]
            self.narrowed += 1
            if result.note:
                self.notes.append(result.note)
            if not result.empty:
                self.contributors.add(path)
            for file, why in result.whole.items():
                self.whole.setdefault(file, []).extend(why)
            for file, nodes in result.nodes.items():
                for node, why in nodes.items():
                    self.nodes.setdefault(file, {}).setdefault(node, []).extend(why)
        if kept:
            self.notes.append("not narrowed: " + _listing(kept, sep="; "))

    def _narrowable(self, path: str) -> bool:
        """A source module (not a test, not a conftest.py) changed in place: impact data may narrow it."""
        return (self.graph.is_source(path) and path not in self.graph.tests and not path.endswith("conftest.py")
                and self._how(path) == "changed")

    def _how(self, path: str) -> str:
        renamed = self.changes.renamed
        if path in renamed:
            return f"renamed to {renamed[path]}"
        if path in renamed.values():
            return "renamed from " + next(old for old, new in renamed.items() if new == path)
        return "deleted" if path in self.changes.deleted else "changed"

    def _add_reached(self, reached: dict[str, list[str]], starts: dict[str, str]) -> None:
        for test, chains in reached.items():
            self.whole.setdefault(test, []).extend(chains)
            for chain in chains:
                start = next((s for s in starts if chain.startswith(s + " ")), None)
                if start and start not in self.graph.tests:
                    self.contributors.add(start)

    def _map_by_config(self, path: str) -> bool:
        mapped = False
        for glob, selectors in self.config.paths.items():
            if matches(path, glob):
                mapped = True
                for selector in selectors:
                    if self._add_selector(selector, f"{path} changed → matches scope.paths {glob!r} → {selector}"):
                        self.contributors.add(path)
        return mapped

    def _add_selector(self, selector: str, why: str) -> bool:
        """Select what `selector` names; False (and a note) when it names no test."""
        file, sep, _ = selector.partition("::")
        if sep:
            if file not in self.graph.files and file not in self.graph.tests:
                self.notes.append(f"selector {selector!r} names a file that is not here")
                return False
            self.nodes.setdefault(file, {}).setdefault(selector, []).append(why)
            return True
        files = self._expand(selector)
        if not files:
            self.notes.append(f"selector {selector!r} matches no test file")
        for test in files:
            self.whole.setdefault(test, []).append(why)
        return bool(files)

    def _expand(self, selector: str) -> list[str]:
        tests = self.graph.tests
        if is_glob(selector):
            return sorted(t for t in tests if matches(t, selector))
        selector = selector.strip("/")
        if selector in tests or selector in self.graph.files:
            return [selector]
        return sorted(t for t in tests if t.startswith(selector + "/"))

    def _selected(self) -> list[SelectedTest]:
        selected: dict[str, SelectedTest] = {}
        for file, why in self.whole.items():
            selected[file] = SelectedTest(file, [], _capped(why))
        for file, nodes in self.nodes.items():
            if file in selected:
                selected[file].why = _capped(selected[file].why + [w for ws in nodes.values() for w in ws])
            else:
                selected[file] = SelectedTest(file, sorted(nodes), _capped([w for ws in nodes.values() for w in ws]))
        return sorted(selected.values(), key=lambda s: s.file)

    def _reason(self, selected: list[SelectedTest]) -> str:
        n = len(self.changes.paths)
        if not n:
            head = "no files changed"
        else:
            head = (f"{n} changed file{'s' * (n != 1)} select{'s' * (n == 1)} {len(selected)} of "
                    f"{len(self.graph.tests)} test files")
        notes = list(self.notes)
        if self.narrower is not None and self.narrowed:
            notes.insert(0, f"impact data of {self.narrower.label} narrowed {self.narrowed} changed "
                            f"module{'s' * (self.narrowed != 1)} to the tests that ran the changed functions")
        broken = sorted(set(self.graph.unparsed) & set(self.changes.paths))
        if broken:
            notes.append(f"could not parse {_listing(broken)}: imports read line by line instead")
        return "; ".join([head, *notes])

    def _kind(self, selected: list[SelectedTest]) -> str:
        if not selected:
            return "none"
        if not self.contributors:
            return "file"
        if len(self.contributors) == 1:
            return "module"
        units = {self.graph.unit_of(p) for p in self.contributors}
        return "package" if len(units) == 1 else "service"


def _capped(why: list[str]) -> list[str]:
    unique = list(dict.fromkeys(why))
    if len(unique) <= MAX_WHY:
        return unique
    return unique[:MAX_WHY] + [f"… and {len(unique) - MAX_WHY} more reasons"]


def _listing(paths: list[str], limit: int = 3, sep: str = ", ") -> str:
    shown = sep.join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


