"""`verdict check`: the local main job, through its command-line contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

VERDICT = str(Path(sys.executable).parent / "verdict")
EXAMPLE = REPO_ROOT / "examples" / "calculator"


def verdict(*args: str, cwd: Path = REPO_ROOT, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"XDG_DATA_HOME": str(home)}
    return subprocess.run([VERDICT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=o", "-c", "user.email=o@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    repo = tmp_path / "calculator"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def assertion_line() -> int:
    lines = (EXAMPLE / "tests/test_calculator.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "assert mean(" in line)


@pytest.mark.parametrize("runner", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_json_verdict_on_the_example(runner, tmp_path, request):
    request.getfixturevalue("docker_client" if runner == "docker" else "bwrap_available")
    proc = verdict("check", "examples/calculator", "--runner", runner, "--json", home=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"conclusion", "summary", "tests", "annotations"}
    assert out["conclusion"] == "failure"
    assert out["tests"] == {"total": 3, "passed": 1, "failed": 1, "skipped": 1, "errors": 0}
    assert "1 failed, 1 passed, 1 skipped" in out["summary"]
    [annotation] = out["annotations"]
    assert set(annotation) == {"path", "start_line", "end_line", "annotation_level", "title", "message"}
    assert annotation["path"] == "tests/test_calculator.py"
    assert annotation["start_line"] == annotation["end_line"] == assertion_line()
    assert annotation["annotation_level"] == "failure"
    assert "3.0 == 4.0" in annotation["message"]
    assert (tmp_path / "verdict" / "local.db").exists()


def test_fixed_working_tree_is_a_success_and_base_is_reported(checkout, tmp_path, bwrap_available):
    source = checkout / "calculator/__init__.py"
    source.write_text(source.read_text().replace("(len(values) + 1)", "len(values)"))  # uncommitted fix
    proc = verdict("check", str(checkout), "--base", "main", home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("verdict: success — 2 passed, 1 skipped")
    assert "Changed since `main`: 1 file(s)." in proc.stdout


@pytest.mark.parametrize("args,message", [
    (["--base", "no-such-ref"], "--base 'no-such-ref' is not a commit"),
    (["--runner", "vm"], "invalid choice: 'vm'"),
])
def test_bad_arguments_are_clear_errors(checkout, tmp_path, args, message):
    proc = verdict("check", str(checkout), *args, home=tmp_path)
    assert proc.returncode in (2, 3)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_a_git_checkout(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = verdict("check", str(plain), home=tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.strip() == f"verdict: {plain} is not inside a git checkout"


def test_repository_without_tests(checkout, tmp_path):
    shutil.rmtree(checkout / "tests")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "no tests")
    proc = verdict("check", str(checkout), home=tmp_path)
    assert proc.returncode == 3
    assert "test" in proc.stderr.lower() and "Traceback" not in proc.stderr
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'verdict' / 'local.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("select status, conclusion from runs")).all()
    engine.dispose()
    assert rows == [("completed", "failure")]


def scoped_repo(tmp_path) -> Path:
    repo = tmp_path / "shop"
    (repo / "shop").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "conftest.py").write_text("")
    (repo / "shop/__init__.py").write_text("")
    (repo / "shop/prices.py").write_text("def price(n):\n    return n * 10\n")
    (repo / "shop/names.py").write_text("def name(n):\n    return f'item {n}'\n")
    (repo / "tests/test_prices.py").write_text("from shop.prices import price\n\n\ndef test_price():\n"
                                               "    assert price(2) == 20\n")
    (repo / "tests/test_names.py").write_text("from shop.names import name\n\n\ndef test_name():\n"
                                              "    assert name(2) == 'item 2'\n")
    (repo / "docs").mkdir()
    (repo / "docs/index.md").write_text("# shop\n")
    (repo / ".github").mkdir()
    (repo / ".github/verdict.yml").write_text("scope:\n  skip_if_only_changed: ['docs/**']\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shop")
    return repo


def test_check_runs_only_the_tests_the_change_can_affect(tmp_path, bwrap_available):
    repo = scoped_repo(tmp_path)
    (repo / "shop/prices.py").write_text("def price(n):\n    return n * 11\n")
    proc = verdict("check", str(repo), "--base", "main", home=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("verdict: failure — 1 failed\n")  # test_names did not run
    assert "Why these tests" in proc.stdout
    assert "shop/prices.py changed → imported by tests/test_prices.py" in proc.stdout
    everything = verdict("check", str(repo), "--base", "main", "--all", "--json", home=tmp_path)
    assert json.loads(everything.stdout)["tests"] == {"total": 2, "passed": 1, "failed": 1, "skipped": 0,
                                                      "errors": 0}


def test_docs_only_change_is_skipped_with_the_reason(tmp_path, bwrap_available):
    repo = scoped_repo(tmp_path)
    (repo / "docs/index.md").write_text("# shop\n\nMore words.\n")
    proc = verdict("check", str(repo), "--base", "main", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["conclusion"] == "skipped"
    assert out["tests"]["total"] == 0
    assert "Every changed file matches scope.skip_if_only_changed (docs/**)" in out["summary"]


def test_verdict_scope_json_contract(tmp_path):
    repo = scoped_repo(tmp_path)
    (repo / "shop/names.py").write_text("def name(n):\n    return f'thing {n}'\n")
    proc = verdict("scope", str(repo), "--base", "main", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"mode", "reason", "changed", "total_test_files", "selected"}
    assert (out["mode"], out["changed"], out["total_test_files"]) == ("affected", ["shop/names.py"], 2)
    assert [s["file"] for s in out["selected"]] == ["tests/test_names.py"]
    assert out["selected"][0]["why"] == ["shop/names.py changed → imported by tests/test_names.py"]


@pytest.mark.parametrize("example,line", [("jest-calculator", 11), ("mocha-calculator", 12)])
def test_javascript_repository(example, line, tmp_path, bwrap_available):
    proc = verdict("check", f"examples/{example}", "--json", home=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["tests"] == {"total": 3, "passed": 1, "failed": 1, "skipped": 1, "errors": 0}
    [annotation] = out["annotations"]
    assert (annotation["path"], annotation["start_line"]) == ("test/calculator.test.js", line)


def test_full_check_of_a_clean_checkout_records_impact_data_that_narrows_later_checks(tmp_path, bwrap_available):
    repo = scoped_repo(tmp_path)
    (repo / "shop/prices.py").write_text("def price(n):\n    return n * 10\n\n\ndef vat(n):\n    return n // 5\n")
    (repo / "tests/test_prices.py").write_text(
        "from shop.prices import price, vat\n\n\ndef test_price():\n    assert price(2) == 20\n\n\n"
        "def test_vat():\n    assert vat(10) == 2\n")
    git(repo, "commit", "-q", "-a", "-m", "vat")
    first = verdict("check", str(repo), home=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    (repo / "shop/prices.py").write_text("def price(n):\n    return n * 10\n\n\ndef vat(n):\n    return n // 3\n")

    scope = verdict("scope", str(repo), "--base", "main", "--json", home=tmp_path)
    [selected] = json.loads(scope.stdout)["selected"]
    assert (selected["file"], selected["tests"]) == ("tests/test_prices.py", ["tests/test_prices.py::test_vat"])
    plain = verdict("scope", str(repo), "--base", "main", "--json", "--no-impact", home=tmp_path)
    assert json.loads(plain.stdout)["selected"][0]["tests"] == []

    proc = verdict("check", str(repo), "--base", "main", "--json", home=tmp_path)
    out = json.loads(proc.stdout)
    assert out["tests"] == {"total": 1, "passed": 0, "failed": 1, "skipped": 0, "errors": 0}  # test_price not run
    assert "shop/prices.py changed in vat() (lines 5–6) → run by tests/test_prices.py::test_vat" in out["summary"]


def test_a_full_check_of_a_dirty_checkout_records_nothing(tmp_path, bwrap_available):
    repo = scoped_repo(tmp_path)
    (repo / "notes.txt").write_text("untracked\n")
    assert verdict("check", str(repo), home=tmp_path).returncode == 0
    (repo / "notes.txt").unlink()
    (repo / "shop/prices.py").write_text("def price(n):\n    return n * 11\n")
    out = json.loads(verdict("scope", str(repo), "--base", "main", "--json", home=tmp_path).stdout)
    assert "impact data" not in out["reason"] and out["selected"][0]["tests"] == []


def test_mocha_full_check_records_impact_data_by_test_file(tmp_path, bwrap_available):
    repo = tmp_path / "mocha"
    shutil.copytree(REPO_ROOT / "examples" / "mocha-calculator", repo)
    (repo / "src/units.js").write_text("'use strict';\n\nfunction metres(km) {\n  return km * 1000;\n}\n\n"
                                      "module.exports = { metres };\n")
    (repo / "test/units.test.js").write_text(
        "const assert = require('node:assert/strict');\nconst { metres } = require('../src/units');\n"
        "const { add } = require('../src/calculator');\n\n"
        "describe('metres', function () {\n  it('converts', function () {\n    assert.equal(metres(2), 2000);\n"
        "  });\n});\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "mocha")
    first = verdict("check", str(repo), home=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr  # the example's mean() bug: the run still records
    calculator = (repo / "src/calculator.js").read_text()
    (repo / "src/calculator.js").write_text(calculator.replace("return a + b;", "return a - b;"))
    out = json.loads(verdict("scope", str(repo), "--base", "main", "--json", home=tmp_path).stdout)
    assert [s["file"] for s in out["selected"]] == ["test/calculator.test.js"]  # units.test.js never ran add()
    assert "impact data of" in out["reason"]
    graph = json.loads(verdict("scope", str(repo), "--base", "main", "--json", "--no-impact", home=tmp_path).stdout)
    assert [s["file"] for s in graph["selected"]] == ["test/calculator.test.js", "test/units.test.js"]
