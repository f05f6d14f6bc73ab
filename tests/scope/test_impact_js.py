"""Impact data for JavaScript: scope/recorder.cjs on real Node processes, and the selections it narrows.

Each test file runs in its own `node` process under the recorder (as tape-style suites run), the
records are merged, and the narrowed selection is checked against which files a mutant breaks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from scope import ImpactMap
from scope.impact import JS_RECORDER_PATH, OUTPUT_ENV, TEST_ENV, merge_reports
from scope.js_changes import changed_js_functions, changed_regions
from tests.scope.scoperepo import tests_by_file as files_of

PROJECT = {
    "package.json": '{"name": "shapes", "version": "1.0.0", "main": "index.js"}\n',
    "index.js": "'use strict';\nmodule.exports = { area: require('./lib/area'), label: require('./lib/label') };\n",
    "lib/area.js": '''"use strict";
const PI = 3;

function square(side) {
  return side * side;
}

function circle(radius) {
  return PI * radius * radius;
}

module.exports = { square, circle };
''',
    "lib/label.js": '''"use strict";
const { square } = require("./area");

function label(side) {
  return `square of ${square(side)}`;
}

module.exports = label;
''',
    "test/square.js": "const assert = require('assert');\nconst shapes = require('../');\n"
                      "assert.strictEqual(shapes.area.square(3), 9);\n",
    "test/circle.js": "const assert = require('assert');\nconst shapes = require('../');\n"
                      "assert.strictEqual(shapes.area.circle(2), 12);\n",
    "test/label.js": "const assert = require('assert');\nconst shapes = require('../');\n"
                     "assert.strictEqual(shapes.label(2), 'square of 4');\n",
    "test/child.js": "const assert = require('assert');\nconst { execFileSync } = require('child_process');\n"
                     "const shapes = require('../');\nassert.ok(shapes.area);\n"
                     "assert.ok(execFileSync(process.execPath, ['-e', 'require(\"./lib/area\")']) !== null);\n",
}
TESTS = ("test/child.js", "test/circle.js", "test/label.js", "test/square.js")

pytestmark = pytest.mark.skipif(shutil.which("node") is None and os.environ.get("CI") != "true",
                                reason="node is not installed")


def run_files(repo, *, record: bool) -> tuple[set[str], dict | None]:
    """Run each test file in its own node process; (failing files, merged record)."""
    failing, reports = set(), []
    for i, file in enumerate(TESTS):
        out = repo.path.parent / f"v8-{i}.json"
        env = {**os.environ, OUTPUT_ENV: str(out), TEST_ENV: file} if record else dict(os.environ)
        preload = ["--require", str(JS_RECORDER_PATH)] if record else []
        proc = subprocess.run(["node", *preload, file], cwd=repo.path, env=env, capture_output=True, timeout=60)
        if proc.returncode != 0:
            failing.add(file)
        if record:
            reports.append(json.loads(out.read_text()))
    return failing, merge_reports(reports) if record else None


@pytest.fixture
def project(make_repo):
    repo = make_repo(PROJECT)
    failing, report = run_files(repo, record=True)
    assert failing == set()
    return repo, ImpactMap.load(report, repo.git("rev-parse", "HEAD"))


def test_the_record_knows_every_function_and_who_ran_it(project):
    _, impact = project
    text = PROJECT["lib/area.js"]
    square = text.index("function square")
    assert impact.lengths["lib/area.js"] == len(text)
    assert (square, text.index("}", square) + 1) in impact.spans["lib/area.js"]
    ran_square = {impact.tests[i][0] for i in impact.executed["lib/area.js"][square]}
    assert ran_square == {"test/square.js", "test/label.js"}
    assert {impact.tests[i][0] for i in impact.unsafe} == {"test/child.js"}


@pytest.mark.parametrize(("path", "old", "new", "expected"), [
    ("lib/area.js", "return side * side", "return side + side", {"test/square.js", "test/label.js"}),
    ("lib/area.js", "return PI * radius", "return PI + radius", {"test/circle.js"}),
    ("lib/label.js", "`square of ", "`a square of ", {"test/label.js"}),
])
def test_a_change_inside_a_function_selects_the_files_that_ran_it(project, path, old, new, expected):
    repo, impact = project
    repo.edit(path, old, new)
    failing, _ = run_files(repo, record=False)
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    chosen = files_of(selection)
    assert set(chosen) == expected | {"test/child.js"}  # it starts a process: never narrowed away
    assert all(tests == [] for tests in chosen.values())  # JavaScript tests are selected by file
    assert failing <= set(chosen), "every file the mutant breaks must be selected"


def test_top_level_code_keeps_the_import_graph(project):
    repo, impact = project
    repo.edit("lib/area.js", "const PI = 3;", "const PI = 4;")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert set(files_of(selection)) == set(TESTS)
    assert "changed outside its functions" in selection.reason


def test_a_file_compiled_as_other_text_is_not_narrowed(project):
    repo, impact = project
    impact.lengths["lib/area.js"] += 1  # as if a loader (Babel, TypeScript) had rewritten it
    repo.edit("lib/area.js", "return side * side", "return side + side")
    selection = repo.select("HEAD~1", "HEAD", impact=impact)
    assert "ran as other text than the file's" in selection.reason
    assert set(files_of(selection)) == set(TESTS)


@pytest.mark.parametrize(("old", "new", "regions"), [
    ("a < b;\n", "a >= b;\n", [(2, 3)]),
    ("x;\ny;\n", "x;\nz;\ny;\n", [(3, 3)]),
    ("x;\ny;\nz;\n", "x;\nz;\n", [(3, 6)]),
])
def test_changed_regions_are_trimmed_to_what_differs(old, new, regions):
    assert changed_regions(old, new) == regions


def test_a_point_on_a_function_edge_is_outside_it():
    text = "function f() {\n  return 1;\n}\n"
    end = text.index("}") + 1
    assert changed_js_functions(text, text + "f();\n", [(0, end)]) is None
    assert [s.first for s in changed_js_functions(text, text.replace("1", "2"), [(0, end)])] == [0]
    assert changed_js_functions("const s = '\U0001F600';\n", "const s = 'x';\n", [(0, 20)]) is None
