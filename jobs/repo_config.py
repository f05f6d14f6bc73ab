"""The repository's own settings: `.github/verdict.yml`, read from the default branch only.

Never from a pull request's head: a pull request must not be able to change how (or whether)
its own code is tested. Every problem carries the line it is on, so it can be shown as an
annotation on the file. Known keys:

    runner: docker | process | qemu     # which sandbox (default: the worker's VERDICT_RUNNER)
    command: sh tests/run.sh            # qemu runner: the test command run in the VM (prints TAP/KTAP)
    image: <docker image>               # docker runner only
    resources:                          # each at most the worker's own limit
      cpus: 2
      memory: 4g                        # MB as a number, or 512m / 2g
      timeout: 20m                      # seconds as a number, or 90s / 20m / 1h
    scope: {...}                        # which tests a change selects (scope package)
    trusted: [login, ...]               # people whose pull requests run without approval
    _extends: .github                   # organisation defaults, merged under these (load_config)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from checks import RepoContentsAPI
from scope import ScopeConfigError, scope_config
from verdict.errors import PermanentError

CONFIG_PATH = ".github/verdict.yml"
RUNNER_NAMES = ("docker", "process", "qemu")
KNOWN_KEYS = ("runner", "command", "image", "resources", "scope", "trusted", "_extends")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    message: str
    line: int  # 1-based line in the config file (1 when unknown)


class RepoConfigError(PermanentError):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{CONFIG_PATH} is invalid: " + "; ".join(f"line {p.line}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    memory_mb: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class RepoConfig:
    runner: str | None = None
    command: str | None = None
    image: str | None = None
    resources: Resources = Resources()
    scope: dict[str, Any] = field(default_factory=dict)
    trusted: tuple[str, ...] = ()
    extends: str | None = None


def parse_config(text: str | None) -> RepoConfig:
    """Parse and validate the file's text; None (no file) gives the defaults."""
    data, lines = _load(text)
    return _validated(data, lines) if data else RepoConfig()


def load_config(api: RepoContentsAPI, repo: str, default_branch: str) -> RepoConfig:
    """The repository's config from its default branch, over the defaults it `_extends` (never from a head).

    `_extends: .github` is `<owner>/.github`'s `.github/verdict.yml`, `_extends: name` is
    `<owner>/name`'s, `_extends: org/repo:path` names the file; each is read on its repository's
    default branch. Mappings are merged deeply and the repository's own settings win, as in Probot.
    Problems in the extended file are reported on the `_extends` line, since annotations can only
    point at this repository's files.
    """
    data, lines = _load(api.read_file(repo, CONFIG_PATH, default_branch))
    if not data:
        return RepoConfig()
    extends = data.get("_extends")
    if not isinstance(extends, str) or not extends.strip():
        return _validated(data, lines)
    problems: list[Problem] = []
    try:
        _validated(data, lines)
    except RepoConfigError as exc:
        problems += exc.problems
    base, base_problems = _extended(api, repo, extends, lines.get("_extends", 1))
    problems = sorted(problems + base_problems, key=lambda p: p.line)
    if problems:
        raise RepoConfigError(problems)
    base.pop("_extends", None)  # one level: the defaults' own _extends is not followed
    return _validated(deep_merge(base, data), lines)


def _extended(api: RepoContentsAPI, repo: str, extends: str, line: int) -> tuple[dict[str, Any], list[Problem]]:
    """The settings `_extends` names, or the problems with them (reported on the `_extends` line)."""
    source, path = extends_source(repo, extends)
    try:
        text = api.read_file(source, path, "")  # "" : that repository's default branch
    except PermanentError as exc:
        return {}, [Problem(f"_extends: cannot read {source}:{path}: {exc}", line)]
    if text is None:
        return {}, [Problem(f"_extends: {source} has no {path} that Verdict can read (is the app installed on "
                            "that repository?)", line)]
    try:
        base, base_lines = _load(text)
        _validated(base, base_lines)
    except RepoConfigError as exc:
        return {}, [Problem(f"_extends: {source}:{path} line {p.line}: {p.message}", line) for p in exc.problems]
    return base, []


def extends_source(repo: str, extends: str) -> tuple[str, str]:
    """`_extends` → (repository, path): `.github` / `name` in this owner, or `org/repo[:path]`."""
    target, _, path = extends.strip().partition(":")
    owner = repo.split("/", 1)[0]
    return (target if "/" in target else f"{owner}/{target}"), (path.strip() or CONFIG_PATH)


def deep_merge(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """`own` over `base`: mappings are merged key by key, anything else in `own` replaces `base`'s."""
    merged = dict(base)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _load(text: str | None) -> tuple[dict[str, Any], dict[str, int]]:
    """The YAML mapping ({} for no file or an empty one) and the line of each dotted key."""
    if text is None or not text.strip():
        return {}, {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RepoConfigError([Problem(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                       mark.line + 1 if mark else 1)]) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise RepoConfigError([Problem("the file must be a mapping of settings", 1)])
    return data, _line_numbers(node)


def _validated(data: dict[str, Any], lines: dict[str, int]) -> RepoConfig:
    problems: list[Problem] = []

    def problem(path: str, message: str) -> None:
        problems.append(Problem(f"{path}: {message}", lines.get(path, 1)))

    for key in data:
        if key not in KNOWN_KEYS:
            problem(str(key), f"unknown setting (known: {', '.join(KNOWN_KEYS)})")
    runner = data.get("runner")
    if runner is not None and runner not in RUNNER_NAMES:
        problem("runner", f"must be one of {', '.join(RUNNER_NAMES)}, got {runner!r}")
    command = data.get("command")
    if command is not None and (not isinstance(command, str) or not command.strip()):
        problem("command", "must be a shell command, e.g. sh tests/run.sh")
    image = data.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        problem("image", "must be an image name")
    resources = _resources(data.get("resources"), problem)
    scope = data.get("scope") or {}
    if not isinstance(scope, dict):
        problem("scope", "must be a mapping")
        scope = {}
    try:
        scope_config(scope)
    except ScopeConfigError as exc:
        key = getattr(exc, "key", "scope")
        problems.append(Problem(str(exc), lines.get(_plain_path(key), lines.get("scope", 1))))
    trusted = data.get("trusted") or []
    if not isinstance(trusted, list) or not all(isinstance(t, str) and t for t in trusted):
        problem("trusted", "must be a list of GitHub logins")
        trusted = []
    extends = data.get("_extends")
    if extends is not None and not isinstance(extends, str):
        problem("_extends", "must be a repository name like .github or org/repo:path")
    if problems:
        raise RepoConfigError(problems)
    return RepoConfig(runner=runner, command=command, image=image, resources=resources, scope=scope,
                      trusted=tuple(t.lower() for t in trusted), extends=extends)


def _resources(raw: Any, problem) -> Resources:
    if raw is None:
        return Resources()
    if not isinstance(raw, dict):
        problem("resources", "must be a mapping with cpus, memory and timeout")
        return Resources()
    for key in raw:
        if key not in ("cpus", "memory", "timeout"):
            problem(f"resources.{key}", "unknown setting (known: cpus, memory, timeout)")
    cpus = raw.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int | float) or cpus <= 0):
        problem("resources.cpus", f"must be a positive number, got {cpus!r}")
        cpus = None
    memory = _parse(raw.get("memory"), _SIZE, {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024})
    if raw.get("memory") is not None and memory is None:
        problem("resources.memory", f"must be megabytes or a size like 512m or 2g, got {raw['memory']!r}")
    timeout = _parse(raw.get("timeout"), _DURATION, {"": 1, "s": 1, "m": 60, "h": 3600})
    if raw.get("timeout") is not None and timeout is None:
        problem("resources.timeout", f"must be seconds or a duration like 90s or 20m, got {raw['timeout']!r}")
    return Resources(cpus=float(cpus) if cpus else None, memory_mb=int(memory) if memory else None,
                     timeout=timeout)


def _parse(raw: Any, pattern: re.Pattern[str], units: dict[str, float]) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    match = pattern.match(str(raw))
    if not match:
        return None
    value = float(match.group(1)) * units[(match.group(2) or "").lower()]
    return value if value > 0 else None


def _plain_path(key: str) -> str:
    """`scope.paths['data/**'][0]` → `scope.paths.data/**` (the form _line_numbers uses)."""
    return re.sub(r"\[(\d+)\]", "", re.sub(r"\['([^']*)'\]", r".\1", key))


def _line_numbers(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Dotted key path → 1-based line, from the composed YAML tree."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            lines[path] = key_node.start_mark.line + 1
            lines.update(_line_numbers(value_node, path + "."))
    return lines


def effective_limits(config: RepoConfig, *, cpus: float, memory_mb: int, timeout: float) -> Resources:
    """What the repository asks for, within what this worker allows; a request beyond the limit is an error."""
    asked = config.resources
    requests = (("cpus", asked.cpus, cpus, ""), ("memory", asked.memory_mb, memory_mb, " MB"),
                ("timeout", asked.timeout, timeout, " s"))
    over = [f"{name} {want:g}{unit} is more than this Verdict allows ({limit:g}{unit})"
            for name, want, limit, unit in requests if want is not None and want > limit]
    if over:
        raise PermanentError(f"{CONFIG_PATH} resources: " + "; ".join(over))
    return Resources(cpus=asked.cpus or cpus, memory_mb=asked.memory_mb or memory_mb, timeout=asked.timeout or timeout)
