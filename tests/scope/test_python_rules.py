"""Each Python rule of the import graph, on one real repository: a change selects exactly these tests."""

from __future__ import annotations

import pytest

from scope import scope_config
from tests.scope.scoperepo import selected_files

PROJECT = {
    "src/pkg/__init__.py": "",
    "src/pkg/core.py": "X = 1\n",
    "src/pkg/api.py": "from pkg.core import X\n",
    "src/pkg/units.py": "M = 1\n",
    "src/pkg/orphan.py": "import os\n",
    "src/pkg/lazy.py": "",
    "src/pkg/shapes/__init__.py": "from .circle import area\n",
    "src/pkg/shapes/circle.py": "def area():\n    return 1\n",
    "src/pkg/shapes/square.py": "from ..units import M\nfrom ..core import X\n",
    "src/pkg/plugins/__init__.py": "",
    "src/pkg/plugins/loader.py": "import importlib\n\nPLUGIN = importlib.import_module('pkg.plugins.dyn')\n",
    "src/pkg/plugins/dyn.py": "",
    "flatpkg/__init__.py": "",
    "flatpkg/mod.py": "thing = 1\n",
    "helpers/__init__.py": "",
    "helpers/fixtures.py": "import pytest\n",
    "data/sample.csv": "a,b\n",
    "tests/test_core.py": "import pkg.core\n",
    "tests/test_api.py": "from pkg import api\n",
    "tests/test_shapes.py": "from pkg.shapes import area\n",
    "tests/test_square.py": "from pkg.shapes import square\n",
    "tests/test_loader.py": "from pkg.plugins import loader\n",
    "tests/test_lazy.py": "def test_lazy():\n    __import__('pkg.lazy')\n",
    "tests/test_flat.py": "from flatpkg.mod import thing\n",
    "tests/test_data.py": "def test_data():\n    open('data/sample.csv')\n",
    "tests/unit/conftest.py": "pytest_plugins = ['helpers.fixtures']\n",
    "tests/unit/test_one.py": "",
    "tests/unit/two_test.py": "",
}
PKG_TESTS = {"tests/test_core.py", "tests/test_api.py", "tests/test_shapes.py", "tests/test_square.py",
             "tests/test_loader.py", "tests/test_lazy.py"}
UNIT = {"tests/unit/test_one.py", "tests/unit/two_test.py"}

CASES = [
    ("direct import (from pkg import submodule)", "src/pkg/api.py", {"tests/test_api.py"}),
    ("transitive import", "src/pkg/core.py", {"tests/test_core.py", "tests/test_api.py", "tests/test_square.py"}),
    ("__init__ re-export", "src/pkg/shapes/circle.py", {"tests/test_shapes.py", "tests/test_square.py"}),
    ("relative import", "src/pkg/units.py", {"tests/test_square.py"}),
    ("importlib.import_module literal", "src/pkg/plugins/dyn.py", {"tests/test_loader.py"}),
    ("__import__ literal", "src/pkg/lazy.py", {"tests/test_lazy.py"}),
    ("pytest_plugins", "helpers/fixtures.py", UNIT),
    ("conftest selects its folder", "tests/unit/conftest.py", UNIT),
    ("changed test selects itself", "tests/test_flat.py", {"tests/test_flat.py"}),
    ("flat layout", "flatpkg/mod.py", {"tests/test_flat.py"}),
    ("src layout package __init__", "src/pkg/__init__.py", PKG_TESTS),
    ("module nothing imports", "src/pkg/orphan.py", set()),
    ("data file via scope.paths", "data/sample.csv", {"tests/test_data.py"}),
]
CONFIG = scope_config({"paths": {"data/**": ["tests/test_data.py"]}})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from tests.scope.scoperepo import ScopeRepo

    root = tmp_path_factory.mktemp("python")
    repo = ScopeRepo(root / "repo", root / "cache")
    repo.write(PROJECT)
    repo.commit("initial")
    return repo


@pytest.mark.parametrize(("rule", "changed", "expected"), CASES, ids=[c[0] for c in CASES])
def test_python_rule(project, rule, changed, expected):
    original = (project.path / changed).read_text()
    try:
        (project.path / changed).write_text(original + "\n# changed\n")
        selection = project.select(config=CONFIG)
    finally:
        (project.path / changed).write_text(original)
    assert selection.mode == "affected", selection.reason
    assert selection.changed == [changed]
    assert selected_files(selection) == expected
    assert selection.total_test_files == 10
    for test in selection.selected:
        assert test.why and all(why.startswith(changed) for why in test.why)


def test_untracked_new_module_and_its_new_test(project):
    project.write({"src/pkg/fresh.py": "", "tests/test_fresh.py": "from pkg import fresh\n"})
    try:
        selection = project.select()
    finally:
        project.delete("src/pkg/fresh.py", "tests/test_fresh.py")
    assert selected_files(selection) == {"tests/test_fresh.py"}
    assert selection.selected[0].why == ["src/pkg/fresh.py changed → imported by tests/test_fresh.py",
                                         "tests/test_fresh.py changed (test file)"]


def test_deleted_module_selects_former_dependents(make_repo):
    repo = make_repo(PROJECT)
    repo.git("checkout", "-q", "-b", "feature")
    repo.delete("src/pkg/api.py")
    repo.commit("drop api")
    selection = repo.select(head="feature")
    assert selection.changed == ["src/pkg/api.py"]
    assert selected_files(selection) == {"tests/test_api.py"}
    assert selection.selected[0].why == ["src/pkg/api.py deleted → was imported by tests/test_api.py"]


def test_renamed_module_selects_dependents_of_both_paths(make_repo):
    repo = make_repo(PROJECT)
    repo.git("mv", "src/pkg/core.py", "src/pkg/kernel.py")
    repo.write({"tests/test_kernel.py": "from pkg import kernel\n"})
    selection = repo.select()
    assert selection.changed == ["src/pkg/core.py", "src/pkg/kernel.py", "tests/test_kernel.py"]
    assert selected_files(selection) == {"tests/test_core.py", "tests/test_api.py", "tests/test_square.py",
                                         "tests/test_kernel.py"}
    whys = {s.file: s.why for s in selection.selected}
    assert "src/pkg/core.py renamed to src/pkg/kernel.py → was imported by tests/test_core.py" in whys[
        "tests/test_core.py"]


def test_a_tests_package_init_selects_the_tests_in_it(make_repo):
    repo = make_repo({"tests/__init__.py": "", "tests/unit/__init__.py": "", "tests/unit/test_a.py": "",
                      "tests/test_b.py": "", "tests/other/test_c.py": ""})
    repo.write({"tests/unit/__init__.py": "X = 1\n"})
    selection = repo.select()
    assert selected_files(selection) == {"tests/unit/test_a.py"}
    assert selection.selected[0].why == ["tests/unit/__init__.py changed → imported by tests/unit/test_a.py"]
    repo.write({"tests/__init__.py": "X = 1\n"})
    assert selected_files(repo.select()) == {"tests/unit/test_a.py", "tests/test_b.py"}


def test_root_level_test_helper_without_package(make_repo):
    repo = make_repo({"tests/helpers.py": "", "tests/test_a.py": "import helpers\n", "tests/test_b.py": ""})
    repo.write({"tests/helpers.py": "X = 2\n"})
    assert selected_files(repo.select()) == {"tests/test_a.py"}
