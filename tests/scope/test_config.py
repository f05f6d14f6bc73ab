"""scope_config: defaults, valid sections, and errors that name the key."""

from __future__ import annotations

import pytest

from scope import DEFAULT_FULL_RUN_ON, ScopeConfig, ScopeConfigError, scope_config
from scope.globs import matches


def test_defaults():
    assert scope_config(None) == ScopeConfig()
    assert scope_config({}) == ScopeConfig()
    assert scope_config({"scope": None}) == ScopeConfig()
    assert ScopeConfig().mode == "affected" and ScopeConfig().full_run_on == DEFAULT_FULL_RUN_ON


def test_a_full_section_and_a_whole_document():
    section = {"mode": "all", "default_branch": "affected", "always": ["tests/smoke/"],
               "paths": {"data/**": ["tests/test_data.py"]}, "full_run_on": ["Dockerfile"],
               "skip_if_only_changed": "docs/**", "impact": False}
    config = scope_config(section)
    assert config.mode == "all" and config.default_branch == "affected"
    assert config.always == ("tests/smoke/",)
    assert config.paths == {"data/**": ("tests/test_data.py",)}
    assert [glob for glob, _ in config.full_run_on] == ["Dockerfile"]
    assert config.skip_if_only_changed == ("docs/**",)
    assert config.impact is False and ScopeConfig().impact is True
    assert scope_config({"scope": section}) == config


ERRORS = [
    ("not a mapping", ["a"], "scope"),
    ("unknown key", {"alway": []}, "scope.alway"),
    ("bad mode", {"mode": "some"}, "scope.mode"),
    ("bad default_branch", {"default_branch": True}, "scope.default_branch"),
    ("always not a list", {"always": {"a": 1}}, "scope.always"),
    ("always item not a string", {"always": ["ok", 3]}, "scope.always[1]"),
    ("paths not a mapping", {"paths": ["a"]}, "scope.paths"),
    ("paths entry empty", {"paths": {"data/**": []}}, "scope.paths['data/**']"),
    ("paths entry not strings", {"paths": {"data/**": [None]}}, "scope.paths['data/**'][0]"),
    ("full_run_on not a list", {"full_run_on": 5}, "scope.full_run_on"),
    ("skip_if_only_changed empty string", {"skip_if_only_changed": [""]}, "scope.skip_if_only_changed[0]"),
    ("impact not a boolean", {"impact": "sometimes"}, "scope.impact"),
]


@pytest.mark.parametrize(("case", "data", "key"), ERRORS, ids=[e[0] for e in ERRORS])
def test_invalid_config_names_the_key(case, data, key):
    with pytest.raises(ScopeConfigError) as info:
        scope_config(data)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")


GLOBS = [
    ("*.md", "README.md", True),
    ("*.md", "docs/a/b.md", True),
    ("docs/**", "docs/a/b.md", True),
    ("docs/**", "src/docs/a.md", False),
    ("docs/", "docs/a.md", True),
    ("/conftest.py", "conftest.py", True),
    ("/conftest.py", "tests/conftest.py", False),
    ("requirements*.txt", "requirements-dev.txt", True),
    (".github/workflows/**", ".github/workflows/ci.yml", True),
    ("src/**/test_*.py", "src/test_a.py", True),
    ("src/*.py", "src/a/b.py", False),
    ("file[0-9].txt", "file3.txt", True),
]


@pytest.mark.parametrize(("glob", "path", "expected"), GLOBS)
def test_globs(glob, path, expected):
    assert matches(path, glob) is expected
