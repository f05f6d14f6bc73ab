"""Bad input never crashes: broken source, binary data, cycles, symlinks out, missing bases, big repositories."""

from __future__ import annotations

import os
import sqlite3
import time

from scope import changed_files, select_tests
from tests.scope.scoperepo import selected_files


def test_a_syntax_error_file_still_has_its_imports_read(make_repo):
    repo = make_repo({"pkg/__init__.py": "", "pkg/core.py": "",
                      "tests/test_broken.py": "from pkg import core\n\ndef test(:\n    pass\n"})
    repo.write({"pkg/core.py": "X = 2\n"})
    selection = repo.select()
    assert selected_files(selection) == {"tests/test_broken.py"}
    repo.write({"tests/test_broken.py": "from pkg import core\n\ndef test(:\n    return 1\n"})
    assert "could not parse tests/test_broken.py" in repo.select().reason


def test_binary_data_in_a_python_file(make_repo):
    repo = make_repo({"pkg/__init__.py": "", "pkg/core.py": "",
                      "pkg/blob.py": b"\x00\xff\xfeimport os\n\x89PNG\r\n",
                      "tests/test_core.py": "import pkg.core\n"})
    repo.write({"pkg/blob.py": b"\x00\x01\x02" * 100, "pkg/core.py": "# edit\n"})
    selection = repo.select()
    assert selection.mode == "affected"
    assert selected_files(selection) == {"tests/test_core.py"}


def test_import_cycles_end(make_repo):
    repo = make_repo({"pkg/__init__.py": "from pkg import a\n", "pkg/a.py": "from pkg import b\n",
                      "pkg/b.py": "from pkg import a\nfrom . import c\n", "pkg/c.py": "import pkg.a\n",
                      "tests/test_a.py": "import pkg.a\n",
                      "web/x.js": "require('./y');\n", "web/y.js": "require('./x');\n",
                      "web/x.test.js": "require('./x');\n"})
    repo.write({"pkg/c.py": "import pkg.a  # edit\n", "web/y.js": "require('./x'); // edit\n"})
    selection = repo.select()
    assert selected_files(selection) == {"tests/test_a.py", "web/x.test.js"}


def test_symlinks_out_of_the_repository_are_ignored(make_repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("import pkg.core\n")
    (outside / "test_out.py").write_text("import pkg.core\n")
    repo = make_repo({"pkg/__init__.py": "", "pkg/core.py": "", "tests/test_core.py": "import pkg.core\n"})
    os.symlink(outside, repo.path / "linked_dir")
    os.symlink(outside / "test_out.py", repo.path / "tests" / "test_link.py")
    os.symlink(repo.path / "pkg" / "core.py", repo.path / "tests" / "test_inside.py")
    os.symlink(repo.path / "nowhere.py", repo.path / "tests" / "test_dangling.py")
    repo.write({"pkg/core.py": "# edit\n"})
    selection = select_tests(repo.path, changed_files(repo.path, "main", "HEAD"), cache_dir=repo.cache_dir)
    assert selection.total_test_files == 1  # committed tree: untracked links are not there yet
    selection = repo.select()
    assert selection.mode == "all"  # the links are new untracked files nothing maps
    assert {s.file for s in selection.selected} == {"tests/test_core.py", "tests/test_inside.py"}


def test_missing_base_runs_everything_with_a_reason(make_repo):
    repo = make_repo({"tests/test_a.py": "", "a.py": ""})
    selection = repo.select(base="0123456789abcdef0123456789abcdef01234567")
    assert selection.mode == "all" and selection.kind == "repository"
    assert "is not a commit" in selection.reason and selected_files(selection) == {"tests/test_a.py"}


def test_a_shallow_history_without_merge_base_runs_everything(make_repo):
    repo = make_repo({"tests/test_a.py": "", "a.py": ""})
    repo.git("checkout", "-q", "--orphan", "other")
    repo.write({"b.py": ""})
    repo.commit("unrelated")
    selection = repo.select(base="main", head="other")
    assert selection.mode == "all" and selection.reason.startswith("no merge base between 'main' and 'other'")


def test_cache_reparses_only_changed_files(make_repo):
    repo = make_repo({f"pkg/m{i}.py": f"import pkg.m{i + 1}\n" for i in range(50)} | {
        "pkg/__init__.py": "", "tests/test_m.py": "import pkg.m0\n"})
    repo.write({"pkg/m49.py": "# edit\n"})
    first = repo.select()
    assert selected_files(first) == {"tests/test_m.py"}
    db = sqlite3.connect(repo.cache_dir / "scope.sqlite3")
    parsed = db.execute("select count(*) from parsed").fetchone()[0]
    assert parsed == 52
    repo.commit("edit")
    repo.write({"pkg/m10.py": "import pkg.m11  # edit\n"})
    second = repo.select(base="HEAD")
    assert second.changed == ["pkg/m10.py"] and selected_files(second) == {"tests/test_m.py"}
    assert db.execute("select count(*) from parsed").fetchone()[0] == parsed + 1
    commit_view = select_tests(repo.path, changed_files(repo.path, "HEAD~1", "HEAD"), cache_dir=repo.cache_dir)
    assert selected_files(commit_view) == {"tests/test_m.py"}
    assert db.execute("select count(*) from parsed").fetchone()[0] == parsed + 1  # blob shas match the work tree


def test_an_unwritable_cache_directory_is_only_slower(make_repo, tmp_path):
    repo = make_repo({"a.py": "", "tests/test_a.py": "import a\n"})
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    repo.write({"a.py": "# edit\n"})
    selection = select_tests(repo.path, changed_files(repo.path, "main"), cache_dir=blocker / "cache")
    assert selected_files(selection) == {"tests/test_a.py"}


def test_a_big_repository_stays_fast(make_repo):
    files: dict[str, str | bytes] = {}
    for p in range(40):
        files[f"src/p{p}/__init__.py"] = ""
        for m in range(50):
            files[f"src/p{p}/m{m}.py"] = f"from p{p} import m{(m + 1) % 50}\nimport os\n"
        files[f"tests/p{p}/test_p{p}.py"] = f"from p{p} import m0\n"
    for skipped in ("node_modules/dep", ".venv/lib", "build/x"):
        files.update({f"{skipped}/f{i}.py": "import p0.m0\n" for i in range(200)})
    repo = make_repo(files)
    repo.write({"src/p7/m30.py": "# edit\n"})
    started = time.monotonic()
    cold = repo.select()
    cold_seconds = time.monotonic() - started
    started = time.monotonic()
    warm = repo.select()
    warm_seconds = time.monotonic() - started
    assert selected_files(cold) == selected_files(warm) == {"tests/p7/test_p7.py"}
    assert cold.total_test_files == 40
    assert cold_seconds < 10 and warm_seconds < 3, (cold_seconds, warm_seconds)
