"""Safety rules: manifests, lock files, runner and CI config, unmapped files run everything — unless config says."""

from __future__ import annotations

import pytest

from scope import scope_config
from tests.scope.scoperepo import ScopeRepo, selected_files

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/a.py": "",
    "pkg/b.py": "",
    "tests/test_a.py": "from pkg import a\n",
    "tests/test_b.py": "from pkg import b\n",
    "tests/test_smoke.py": "def test_one():\n    pass\n\ndef test_two():\n    pass\n",
}
ALL = {"tests/test_a.py", "tests/test_b.py", "tests/test_smoke.py"}

FULL_RUN_CASES = [
    ("pyproject.toml", "dependency manifest"),
    ("setup.py", "dependency manifest"),
    ("setup.cfg", "dependency manifest"),
    ("requirements-dev.txt", "dependency manifest"),
    ("Pipfile", "dependency manifest"),
    ("package.json", "dependency manifest"),
    ("web/package.json", "dependency manifest"),
    ("Pipfile.lock", "lock file"),
    ("poetry.lock", "lock file"),
    ("uv.lock", "lock file"),
    ("package-lock.json", "lock file"),
    ("yarn.lock", "lock file"),
    ("pnpm-lock.yaml", "lock file"),
    ("tsconfig.json", "TypeScript configuration"),
    ("tsconfig.build.json", "TypeScript configuration"),
    ("pytest.ini", "test runner configuration"),
    ("tox.ini", "test runner configuration"),
    ("conftest.py", "test runner configuration"),
    ("jest.config.js", "test runner configuration"),
    ("vitest.config.ts", "test runner configuration"),
    (".mocharc.yml", "test runner configuration"),
    (".github/workflows/ci.yml", "CI configuration"),
    (".ci/run.sh", "CI configuration"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("safety")
    repo = ScopeRepo(root / "repo", root / "cache")
    repo.write(PROJECT)
    repo.commit("initial")
    return repo


def _with_change(project: ScopeRepo, files: dict[str, str], **kwargs):
    try:
        project.write(files)
        return project.select(**kwargs)
    finally:
        for rel in files:
            if rel in PROJECT:
                project.write({rel: PROJECT[rel]})
            else:
                project.delete(rel)


@pytest.mark.parametrize(("path", "what"), FULL_RUN_CASES, ids=[c[0] for c in FULL_RUN_CASES])
def test_full_run_on_manifests_and_config(project, path, what):
    selection = _with_change(project, {path: "x = 1\n", "pkg/a.py": "# edit\n"})
    assert selection.mode == "all"
    assert selection.kind == "repository"
    assert selection.reason == f"{path} changed ({what})"
    assert selected_files(selection) == ALL
    assert all(s.why == [f"full run: {path} changed ({what})"] for s in selection.selected)
    assert selection.pytest_args() == []


@pytest.mark.parametrize("path", ["README.md", "docs/index.rst", "assets/logo.png", "Makefile"])
def test_a_file_nothing_maps_runs_everything(project, path):
    selection = _with_change(project, {path: "x\n"})
    assert selection.mode == "all"
    assert selection.reason.startswith(f"{path} changed and nothing maps it to tests")


def test_a_nested_conftest_is_not_a_full_run(project):
    selection = _with_change(project, {"tests/conftest.py": "import pytest\n"})
    assert selection.mode == "affected"
    assert selected_files(selection) == ALL


CONFIG_CASES = [
    ("full_run_on replaces the defaults", {"full_run_on": ["*.lock"], "paths": {"package.json": ["tests/test_a.py"]}},
     {"package.json": "{}"}, "affected", {"tests/test_a.py"}),
    ("full_run_on adds a glob", {"full_run_on": ["pkg/b.py"]}, {"pkg/b.py": "# edit\n"}, "all", ALL),
    ("skip_if_only_changed: every file matches", {"skip_if_only_changed": ["*.md", "docs/**"]},
     {"README.md": "x", "docs/guide.md": "y"}, "affected", set()),
    ("skip_if_only_changed: one file does not", {"skip_if_only_changed": ["*.md"]},
     {"README.md": "x", "pkg/a.py": "# edit\n"}, "affected", {"tests/test_a.py"}),
    ("scope.paths maps a file", {"paths": {"docs/**": ["tests/test_smoke.py"]}}, {"docs/a.md": "x"}, "affected",
     {"tests/test_smoke.py"}),
    ("scope.mode all", {"mode": "all"}, {"pkg/a.py": "# edit\n"}, "all", ALL),
    ("scope.always", {"always": ["tests/test_smoke.py"]}, {"pkg/a.py": "# edit\n"}, "affected",
     {"tests/test_a.py", "tests/test_smoke.py"}),
    ("scope.always with a glob", {"always": ["tests/test_s*.py"]}, {"pkg/b.py": "# edit\n"}, "affected",
     {"tests/test_b.py", "tests/test_smoke.py"}),
]


@pytest.mark.parametrize(("case", "config", "files", "mode", "expected"), CONFIG_CASES,
                         ids=[c[0] for c in CONFIG_CASES])
def test_repository_config(project, case, config, files, mode, expected):
    selection = _with_change(project, files, config=scope_config(config))
    assert selection.mode == mode, selection.reason
    assert selected_files(selection) == expected


def test_skip_says_why_and_is_marked_skipped(project):
    selection = _with_change(project, {"README.md": "x"}, config=scope_config({"skip_if_only_changed": ["*.md"]}))
    assert selection.skipped and selection.kind == "none"
    assert selection.to_json()["selected"] == []
    assert "every changed file matches scope.skip_if_only_changed (*.md)" in selection.reason


def test_node_id_selectors_narrow_a_file(project):
    config = scope_config({"paths": {"pkg/b.py": ["tests/test_smoke.py::test_two"]}})
    selection = _with_change(project, {"pkg/b.py": "# edit\n"}, config=config)
    by_file = {s.file: s for s in selection.selected}
    assert by_file["tests/test_smoke.py"].tests == ["tests/test_smoke.py::test_two"]
    assert by_file["tests/test_b.py"].tests == []
    assert selection.pytest_args() == ["tests/test_b.py", "tests/test_smoke.py::test_two"]


@pytest.mark.parametrize(("config", "mode"), [({}, "all"), ({"default_branch": "affected"}, "affected")])
def test_default_branch_push(project, config, mode):
    selection = _with_change(project, {"pkg/a.py": "# edit\n"}, config=scope_config(config),
                             is_default_branch_push=True)
    assert selection.mode == mode
    if mode == "all":
        assert selection.reason == "push to the default branch (scope.default_branch: all)"
