"""Changed files for each trigger: pull request, push (fast-forward, new branch, force push), local checkout."""

from __future__ import annotations

from scope import changed_files, push_changes
from scope.git import ZERO_SHA


def _feature(make_repo):
    repo = make_repo({f"{name}.py": f"def {name}():\n    return '{name}'\n" for name in "abcd"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.write({"a.py": "2\n"})
    first = repo.commit("feature edit")
    repo.git("checkout", "-q", "main")
    repo.write({"b.py": "2\n"})
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")
    return repo, first


def test_pull_request_compares_with_the_merge_base(make_repo):
    repo, _ = _feature(make_repo)
    changes = changed_files(repo.path, "main", "feature")
    assert changes.paths == ["a.py"] and changes.complete and changes.reason is None
    assert changes.head_commit == repo.git("rev-parse", "feature")


def test_local_checkout_counts_committed_uncommitted_untracked_renamed_deleted(make_repo):
    repo, _ = _feature(make_repo)
    repo.write({"c.py": "2\n", "new.py": "x\n"})  # uncommitted edit and untracked file
    repo.git("mv", "d.py", "renamed.py")
    repo.delete("b.py")  # b.py as of the merge base
    changes = changed_files(repo.path, "main")
    assert changes.paths == ["a.py", "b.py", "c.py", "d.py", "new.py", "renamed.py"]
    assert changes.deleted == ["b.py", "d.py"]
    assert changes.renamed == {"d.py": "renamed.py"}
    assert changes.head_commit is None


def test_untracked_node_modules_are_not_changes(make_repo):
    repo = make_repo({"a.py": ""})
    repo.write({"web/node_modules/left-pad/index.js": "", "web/index.js": ""})
    assert changed_files(repo.path, "main").paths == ["web/index.js"]


def test_push_fast_forward_diffs_before_and_after(make_repo):
    repo, first = _feature(make_repo)
    repo.write({"c.py": "3\n"})
    second = repo.commit("second")
    changes = push_changes(repo.path, first, second, "main")
    assert changes.paths == ["c.py"] and changes.reason is None


def test_push_of_a_new_branch_uses_the_merge_base_with_the_default_branch(make_repo):
    repo, first = _feature(make_repo)
    changes = push_changes(repo.path, ZERO_SHA, first, "main")
    assert changes.paths == ["a.py"] and changes.complete
    assert changes.reason == "new branch: compared with the merge base of main"


def test_force_push_uses_the_merge_base_with_the_default_branch(make_repo):
    repo, first = _feature(make_repo)
    repo.git("reset", "-q", "--hard", "main~1")
    repo.write({"c.py": "9\n"})
    rewritten = repo.commit("rewritten")
    changes = push_changes(repo.path, first, rewritten, "main")
    assert changes.paths == ["c.py"]
    assert changes.reason == "force push: compared with the merge base of main"


def test_unknown_base_or_default_branch_is_incomplete(make_repo):
    repo, first = _feature(make_repo)
    changes = changed_files(repo.path, "no-such-branch")
    assert not changes.complete and changes.paths == []
    assert changes.reason == f"base 'no-such-branch' is not a commit in {repo.path}: running everything"
    assert not push_changes(repo.path, ZERO_SHA, first, "trunk").complete


def test_not_a_repository(tmp_path):
    changes = changed_files(tmp_path, "main")
    assert not changes.complete and "is not a git repository" in (changes.reason or "")


def test_more_than_3000_changed_files_runs_everything(make_repo):
    repo = make_repo({"tests/test_a.py": "", "tests/test_b.py": ""})
    repo.write({f"gen/m{i}.py": "" for i in range(3001)})
    changes = changed_files(repo.path, "main")
    assert not changes.complete
    assert changes.reason == ("3001 files changed, more than 3,000 (GitHub's compare limit): running everything")
    selection = repo.select()
    assert selection.mode == "all" and selection.kind == "repository"
    assert {s.file for s in selection.selected} == {"tests/test_a.py", "tests/test_b.py"}
    assert selection.selected[0].why == [f"full run: {changes.reason}"]
