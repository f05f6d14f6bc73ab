"""Impact data: the recorder plugin on real pytest runs, and the selections it narrows.

Every record here comes from running the repository's suite with `scope/recorder.py` loaded,
as the worker does; every narrowed selection is then checked against what a mutant really
breaks, by running the selection with pytest.
"""

from __future__ import annotations

import pytest

from scope import ImpactDataError, ImpactMap
from tests.scope.scoperepo import tests_by_file as narrowed

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/calc.py": '''import subprocess
import sys


def add(a, b):
    return a + b


def mul(a, b):
    return a * b


def table():
    return {n: mul(n, n) for n in range(3)}


def precomputed():
    return 7


SEVEN = precomputed()


def run_child():
    return subprocess.run([sys.executable, "-c", "pass"]).returncode
''',
    "pkg/fmt.py": "from pkg.calc import add\n\n\ndef show(a, b):\n    return str(add(a, b))\n",
    "tests/__init__.py": "",
    "tests/conftest.py": '''import pytest

from pkg import calc


@pytest.fixture(scope="session")
def squares():
    return calc.table()
''',
    "tests/test_calc.py": '''import pytest

from pkg import calc


def test_add():
    assert calc.add(1, 2) == 3


def test_mul():
    assert calc.mul(2, 3) == 6


def test_seven():
    assert calc.SEVEN == 7


class TestTable:
    def test_squares(self, squares):
        assert squares[2] == 4

    @pytest.mark.parametrize("n", [0, 1])
    def test_again(self, squares, n):
        assert squares[n] == n


def test_child():
    assert calc.run_child() == 0
''',
    "tests/test_fmt.py": "from pkg.fmt import show\n\n\ndef test_show():\n    assert show(1, 1) == '2'\n",
    "tests/test_other.py": "import pkg.calc\n\n\ndef test_nothing():\n    assert pkg.calc\n",
}
CALC = "tests/test_calc.py"
GRAPH_ANSWER = {CALC: [], "tests/test_fmt.py": [], "tests/test_other.py": []}  # every importer of pkg/calc.py, whole


@pytest.fixture
def project(make_repo):
    repo = make_repo(PROJECT)
    return repo, repo.record()


def change(repo, old: str, new: str, path: str = "pkg/calc.py") -> None:
    repo.edit(path, old, new)


# --- what the recorder writes -------------------------------------------------------------------


def test_record_names_the_functions_each_test_ran(project):
    repo, impact = project
    by_name = {impact.node_id(i): i for i in range(len(impact.tests))}
    lines = impact.executed["pkg/calc.py"]
    ran = {line for line, tests in lines.items() if by_name[f"{CALC}::test_mul"] in tests}
    assert ran == {9}  # mul() starts on line 9; nothing else of calc.py ran in test_mul
    assert by_name["tests/test_fmt.py::test_show"] in lines[5]  # add(), through pkg/fmt.py
    assert impact.items == {CALC: 7, "tests/test_fmt.py": 1, "tests/test_other.py": 1}


def test_session_fixture_counts_for_every_test_using_it(project):
    _, impact = project
    by_name = {impact.node_id(i): i for i in range(len(impact.tests))}
    table = impact.executed["pkg/calc.py"][13]  # table(), run once, in the fixture's setup
    assert {by_name[f"{CALC}::TestTable::test_squares"], by_name[f"{CALC}::TestTable::test_again"]} <= set(table)
    assert by_name[f"{CALC}::test_add"] not in table


def test_functions_run_at_import_and_process_starters_are_marked(project):
    _, impact = project
    assert 17 in impact.import_time["pkg/calc.py"]  # precomputed(), called by the module body
    assert {impact.node_id(i) for i in impact.unsafe} == {f"{CALC}::test_child"}


def test_a_test_that_removes_the_tracer_is_untracked_and_the_next_is_traced_again(make_repo):
    repo = make_repo({
        "mod.py": "def f():\n    return 1\n",
        "test_a.py": "import sys\nimport mod\n\n\ndef test_a():\n    sys.settrace(None)\n    assert mod.f()\n",
        "test_b.py": "import mod\n\n\ndef test_b():\n    assert mod.f()\n",
    })
    report = repo.record_report()
    names = [f"{file}::{name}" for file, name in report["tests"]]
    assert [names[i] for i in report["untracked"]] == ["test_a.py::test_a"]
    assert names.index("test_b.py::test_b") in report["executed"]["mod.py"]["1"]


def test_another_tracer_is_never_displaced_and_its_tests_are_untracked(make_repo):
    """pytest-cov and debuggers trace too: their measurement stays whole, and nothing is narrowed on ours."""
    repo = make_repo({
        "probe.py": "import sys\n\nCALLS = []\n\n\ndef foreign(frame, event, arg):\n"
                    "    CALLS.append(frame.f_code.co_name)\n\n\ndef helper():\n    return 1\n",
        "conftest.py": "import sys\n\nimport probe\n\nsys.settrace(probe.foreign)\n",
        "test_probe.py": "import sys\n\nimport probe\n\n\ndef test_still_traced_by_the_other():\n"
                         "    probe.helper()\n    assert sys.gettrace() is probe.foreign and 'helper' in probe.CALLS\n",
    })
    report = repo.record_report()
    assert report["outcomes"] == {"test_probe.py::test_still_traced_by_the_other": "passed"}
    assert report["untracked"] == [0]


def test_deselected_items_make_their_file_partial(make_repo):
    repo = make_repo(PROJECT)
    impact = repo.record("-k", "not test_mul")
    assert impact.partial == {CALC}
    assert not impact.narrows(CALC) and impact.narrows("tests/test_fmt.py")


def test_a_session_stopped_early_makes_the_unfinished_files_partial(make_repo):
    repo = make_repo({**PROJECT, "tests/test_fmt.py": "def test_stop():\n    assert False\n"})
    impact = repo.record("-x", "tests/test_fmt.py", CALC)
    assert impact.partial == {CALC} and impact.narrows("tests/test_fmt.py")


def test_outcomes_only_record_is_not_impact_data(make_repo):
    repo = make_repo(PROJECT)
    report = repo.record_report(trace=False)
    assert report["traced"] is False and report["outcomes"][f"{CALC}::test_add"] == "passed"
    with pytest.raises(ImpactDataError, match="outcomes only"):
        ImpactMap.load(report, "0" * 40)


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b'{"format": 99}', b'{"format": 1, "traced": true}',
                                  b"\x78\x9c garbage"])
def test_unreadable_impact_data_is_a_clear_error(data):
    with pytest.raises(ImpactDataError):
        ImpactMap.load(data, "0" * 40)


def test_impact_data_survives_storage_round_trip(project):
    _, impact = project
    again = ImpactMap.load(impact.to_bytes(), impact.commit)
    assert (again.tests, again.executed, again.import_time, again.unsafe) == \
        (impact.tests, impact.executed, impact.import_time, impact.unsafe)


# --- what narrowing selects ---------------------------------------------------------------------


def test_a_function_body_change_selects_only_the_tests_that_ran_it(project):
    repo, impact = project
    change(repo, "return a * b", "return a * b + 0")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == {CALC: [f"{CALC}::TestTable::test_again", f"{CALC}::TestTable::test_squares",
                                          f"{CALC}::test_child", f"{CALC}::test_mul"]}
    assert "narrowed 1 changed module" in selection.reason
    assert "2 test files importing pkg/calc.py ran none of its changed functions" in selection.reason
    why = next(s.why for s in selection.selected if s.file == CALC)
    assert any(w.startswith("pkg/calc.py changed in mul() (lines 9–10) → run by tests/test_calc.py::test_mul")
               for w in why)
    assert any("test_child starts processes or ran untraced: never narrowed" in w for w in why)


def test_a_file_all_of_whose_tests_ran_the_function_is_selected_whole(project):
    repo, impact = project
    change(repo, "return a + b", "return b + a")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == {CALC: [f"{CALC}::test_add", f"{CALC}::test_child"], "tests/test_fmt.py": []}


@pytest.mark.parametrize(("old", "new", "why"), [
    ("SEVEN = precomputed()", "SEVEN = precomputed() + 0", "changed outside function bodies"),
    ("return 7", "return 8", "precomputed() (lines 17–18) also runs at import time"),
    ("def mul(a, b):", "def mul(a, b=1):", "changed outside function bodies"),
])
def test_import_time_changes_keep_the_import_graph(project, old, new, why):
    repo, impact = project
    change(repo, old, new)
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == GRAPH_ANSWER
    assert why in selection.reason


def test_a_memoized_function_keeps_the_import_graph(make_repo):
    """A later test reuses what the first call computed without running it: only the graph is safe."""
    repo = make_repo({
        "conf.py": "import functools\n\n\n@functools.lru_cache\ndef settings():\n    return {'size': 3}\n",
        "test_first.py": "import conf\n\n\ndef test_first():\n    assert conf.settings()['size'] == 3\n",
        "test_later.py": "import conf\n\n\ndef test_later():\n    assert conf.settings()['size'] == 3\n",
    })
    impact = repo.record()
    ran = {impact.tests[i][0] for lines in impact.executed["conf.py"].values() for i in lines}
    assert ran == {"test_first.py"}  # test_later got the cached value: its record never saw settings() run
    change(repo, "return {'size': 3}", "return {'size': 4}", path="conf.py")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert set(narrowed(selection)) == {"test_first.py", "test_later.py"}
    assert "settings() (lines 4–6) is memoized" in selection.reason


def test_a_comment_only_change_keeps_the_import_graph(project):
    """Nothing a test could notice changed, but a changed module still selects its importers, as documented."""
    repo, impact = project
    change(repo, "def mul(a, b):\n", "def mul(a, b):\n    # multiply\n")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == GRAPH_ANSWER
    assert "not narrowed: pkg/calc.py: only comments or formatting changed" in selection.reason


def test_impact_data_of_another_commit_is_not_used(project):
    repo, impact = project
    change(repo, "return a * b", "return a * b + 0")
    change(repo, "return a + b", "return b + a")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == GRAPH_ANSWER
    assert f"impact data of {impact.commit[:12]} not used: it is not the base commit" in selection.reason


def test_test_and_conftest_changes_keep_their_rules(project):
    repo, impact = project
    change(repo, "return calc.table()", "return dict(calc.table())", path="tests/conftest.py")
    change(repo, "assert show(1, 1) == '2'", "assert show(2, 0) == '2'", path="tests/test_fmt.py")
    selection = repo.select("HEAD~2", "HEAD", impact=ImpactMap.load(impact.to_bytes(), repo.git("rev-parse",
                                                                                                "HEAD~2")))
    assert narrowed(selection) == GRAPH_ANSWER


def test_a_partial_record_never_narrows_that_file(make_repo):
    repo = make_repo(PROJECT)
    impact = repo.record("-k", "not test_add")
    change(repo, "return a * b", "return a * b + 0")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert narrowed(selection) == {CALC: []}
    assert any("did not run this file whole" in w for w in selection.selected[0].why)


MUTANTS = [
    ("return a * b", "return a + b"),
    ("return a + b", "return a - b"),
    ("range(3)", "range(2)"),
    ("return 7", "return 8"),
    ("SEVEN = precomputed()", "SEVEN = 6"),
]


@pytest.mark.parametrize(("old", "new"), MUTANTS)
def test_narrowed_selection_runs_every_test_the_mutant_breaks(project, old, new):
    """The outcome that matters: run the full suite on the mutant, then only the selection; same failures."""
    repo, impact = project
    change(repo, old, new)
    full = repo.record_report(trace=False)["outcomes"]
    failing = {node for node, outcome in full.items() if outcome in ("failed", "error")}
    assert failing, "the mutant must break something for this test to mean anything"
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    ran = repo.record_report(*selection.pytest_args(), trace=False)["outcomes"]
    assert failing <= {node for node, outcome in ran.items() if outcome in ("failed", "error")}
    assert len(ran) <= len(full)
