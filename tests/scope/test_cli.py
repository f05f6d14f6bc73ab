"""`verdict scope` run as a process: the JSON shape, the text output, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = {
    "pkg/__init__.py": "",
    "pkg/a.py": "",
    "pkg/b.py": "from pkg import a\n",
    "tests/test_b.py": "from pkg import b\n",
    "tests/test_z.py": "",
    "web/src/sum.js": "module.exports = (a, b) => a + b;\n",
    "web/src/sum.test.js": "const sum = require('./sum');\n",
}


def scope_cli(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    code = "import sys; from scope.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.fixture
def repo(make_repo):
    repo = make_repo(PROJECT)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write({"pkg/a.py": "A = 1\n"})
    repo.commit("edit a")
    return repo


def test_json_shape(repo, tmp_path):
    proc = scope_cli(str(repo.path), "--base", "main", "--json", "--cache-dir", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "mode": "affected",
        "reason": "1 changed file selects 1 of 3 test files",
        "changed": ["pkg/a.py"],
        "total_test_files": 3,
        "selected": [{"file": "tests/test_b.py", "tests": [],
                      "why": ["pkg/a.py changed → imported by pkg/b.py → imported by tests/test_b.py"]}],
    }


def test_json_for_a_full_run_lists_every_test_file_sorted(repo, tmp_path):
    repo.write({"package.json": "{}"})
    proc = scope_cli(str(repo.path), "--base", "main", "--json", "--cache-dir", str(tmp_path / "c"))
    out = json.loads(proc.stdout)
    assert out["mode"] == "all" and out["reason"] == "package.json changed (dependency manifest)"
    assert [s["file"] for s in out["selected"]] == ["tests/test_b.py", "tests/test_z.py", "web/src/sum.test.js"]
    assert out["selected"][0] == {"file": "tests/test_b.py", "tests": [],
                                  "why": ["full run: package.json changed (dependency manifest)"]}


def test_head_compares_merge_base_to_head(repo, tmp_path):
    repo.write({"web/src/sum.js": "// edit in the working tree only\n"})
    proc = scope_cli(str(repo.path), "--base", "main", "--head", "feature", "--json")
    assert json.loads(proc.stdout)["changed"] == ["pkg/a.py"]
    proc = scope_cli(str(repo.path), "--base", "main", "--json")
    assert json.loads(proc.stdout)["changed"] == ["pkg/a.py", "web/src/sum.js"]


def test_text_and_explain(repo):
    plain = scope_cli(str(repo.path), "--base", "main")
    assert plain.returncode == 0
    assert "  tests/test_b.py" in plain.stdout and "why:" not in plain.stdout
    explained = scope_cli("--base", "main", "--explain", cwd=repo.path)
    assert "why: pkg/a.py changed → imported by pkg/b.py → imported by tests/test_b.py" in explained.stdout


def test_config_is_read_from_the_base(repo):
    repo.git("checkout", "-q", "main")
    repo.write({".github/verdict.yml": "scope:\n  always: [tests/test_z.py]\n"})
    repo.commit("config")
    repo.git("checkout", "-q", "feature")
    out = json.loads(scope_cli(str(repo.path), "--base", "main", "--head", "feature", "--json").stdout)
    assert [s["file"] for s in out["selected"]] == ["tests/test_b.py", "tests/test_z.py"]


USAGE_ERRORS = [
    (["--base", "nope"], "verdict: --base 'nope' is not a commit in {path}\n"),
    (["--base", "main", "--head", "nope"], "verdict: --head 'nope' is not a commit in {path}\n"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_unknown_refs_are_usage_errors(repo, args, message):
    proc = scope_cli(str(repo.path), *args)
    assert proc.returncode == 2
    assert proc.stderr == message.format(path=repo.path)


def test_missing_base_is_a_usage_error(repo):
    proc = scope_cli(str(repo.path))
    assert proc.returncode == 2 and "--base" in proc.stderr


def test_not_a_repository(tmp_path):
    proc = scope_cli(str(tmp_path), "--base", "main")
    assert proc.returncode == 2 and proc.stderr == f"verdict: {tmp_path} is not a git repository\n"


def test_invalid_config_is_a_usage_error(repo):
    repo.git("checkout", "-q", "main")
    repo.write({".github/verdict.yml": "scope:\n  mode: sometimes\n"})
    repo.commit("bad config")
    proc = scope_cli(str(repo.path), "--base", "main")
    assert proc.returncode == 2
    assert proc.stderr == ("verdict: .github/verdict.yml: scope.mode: must be 'affected' or 'all', "
                           "not 'sometimes'\n")


def test_add_parser_registers_the_subcommand():
    import argparse

    from scope.cli import add_parser, run

    parser = argparse.ArgumentParser(prog="verdict")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scope", "some/path", "--base", "main", "--json"])
    assert (args.path, args.base, args.head, args.json, args.explain, args.func) == (
        "some/path", "main", None, True, False, run)
