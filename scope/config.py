"""The `scope:` section of .github/verdict.yml, validated, and the built-in full-run rules.

    scope:
      mode: affected              # or: all
      default_branch: all         # pushes to the default branch: all (default) or affected
      always: [tests/test_smoke.py]            # selectors that run on every change
      paths:                                   # glob → selectors, like Prow's run_if_changed
        "data/**": [tests/test_data.py]
      full_run_on: ["*.lock"]                  # replaces the built-in full-run globs below
      skip_if_only_changed: ["docs/**", "*.md"]
      impact: true                # record impact data and narrow with it (false: import graph only)

A selector is a test file, a glob or folder of test files, or a pytest node id (`file::test`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scope.errors import ScopeConfigError

MODES = ("affected", "all")

# (glob, what it is): a change to any of these runs the full suite unless scope.full_run_on replaces them.
DEFAULT_FULL_RUN_ON: tuple[tuple[str, str], ...] = (
    ("pyproject.toml", "dependency manifest"),
    ("setup.py", "dependency manifest"),
    ("setup.cfg", "dependency manifest"),
    ("requirements*.txt", "dependency manifest"),
    ("requirements/*.txt", "dependency manifest"),
    ("constraints*.txt", "dependency manifest"),
    ("Pipfile", "dependency manifest"),
    ("package.json", "dependency manifest"),
    ("Pipfile.lock", "lock file"),
    ("poetry.lock", "lock file"),
    ("uv.lock", "lock file"),
    ("pdm.lock", "lock file"),
    ("package-lock.json", "lock file"),
    ("npm-shrinkwrap.json", "lock file"),
    ("yarn.lock", "lock file"),
    ("pnpm-lock.yaml", "lock file"),
    ("pnpm-workspace.yaml", "workspace configuration"),
    ("tsconfig*.json", "TypeScript configuration"),
    ("jsconfig*.json", "JavaScript configuration"),
    ("pytest.ini", "test runner configuration"),
    ("tox.ini", "test runner configuration"),
    ("noxfile.py", "test runner configuration"),
    ("/conftest.py", "test runner configuration"),
    ("jest.config.*", "test runner configuration"),
    ("vitest.config.*", "test runner configuration"),
    ("vitest.workspace.*", "test runner configuration"),
    ("vite.config.*", "test runner configuration"),
    (".mocharc*", "test runner configuration"),
    ("karma.conf.*", "test runner configuration"),
    ("babel.config.*", "test runner configuration"),
    (".babelrc*", "test runner configuration"),
    (".github/workflows/**", "CI configuration"),
    (".ci/**", "CI configuration"),
    (".gitlab-ci.yml", "CI configuration"),
    (".github/verdict.yml", "Verdict configuration"),
)


@dataclass(frozen=True)
class ScopeConfig:
    """What a repository says about selection; the defaults are the safe behaviour."""

    mode: str = "affected"
    default_branch: str = "all"
    always: tuple[str, ...] = ()
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    full_run_on: tuple[tuple[str, str], ...] = DEFAULT_FULL_RUN_ON
    skip_if_only_changed: tuple[str, ...] = ()
    impact: bool = True  # narrow with impact data recorded on the base commit, when there is some


KEYS = ("mode", "default_branch", "always", "paths", "full_run_on", "skip_if_only_changed", "impact")


def scope_config(data: dict[str, Any] | None) -> ScopeConfig:
    """Validate the `scope:` section (or a whole verdict.yml document holding one) into a ScopeConfig.

    None or an empty mapping gives the defaults. Anything invalid raises ScopeConfigError naming the key.
    """
    if data is None:
        return ScopeConfig()
    if not isinstance(data, dict):
        raise ScopeConfigError("scope", f"must be a mapping, not {type(data).__name__}")
    if "scope" in data:
        return scope_config(data["scope"])
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise ScopeConfigError(f"scope.{unknown[0]}", f"unknown key (known: {', '.join(KEYS)})")
    config = ScopeConfig(
        mode=_choice(data, "mode", "affected"),
        default_branch=_choice(data, "default_branch", "all"),
        always=_strings(data.get("always"), "scope.always"),
        paths=_paths(data.get("paths")),
        skip_if_only_changed=_strings(data.get("skip_if_only_changed"), "scope.skip_if_only_changed"),
        impact=_boolean(data, "impact", True),
    )
    if "full_run_on" in data:
        globs = _strings(data["full_run_on"], "scope.full_run_on")
        config = replace(config, full_run_on=tuple((g, f"matches scope.full_run_on {g!r}") for g in globs))
    return config


def _boolean(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ScopeConfigError(f"scope.{key}", f"must be true or false, not {value!r}")
    return value


def _choice(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if value not in MODES:
        raise ScopeConfigError(f"scope.{key}", f"must be 'affected' or 'all', not {value!r}")
    return str(value)


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ScopeConfigError(key, f"must be a list of strings, not {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ScopeConfigError(f"{key}[{i}]", f"must be a non-empty string, not {item!r}")
    return tuple(item.strip() for item in value)


def _paths(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScopeConfigError("scope.paths", f"must be a mapping of glob to test selectors, not "
                                              f"{type(value).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for glob, selectors in value.items():
        if not isinstance(glob, str) or not glob.strip():
            raise ScopeConfigError("scope.paths", f"keys must be non-empty globs, not {glob!r}")
        key = f"scope.paths[{glob!r}]"
        if not selectors:
            raise ScopeConfigError(key, "must list at least one test selector")
        out[glob.strip()] = _strings(selectors, key)
    return out
