"""`.github/verdict.yml`: parsed, validated with line numbers, limited by what the worker allows."""

from __future__ import annotations

import pytest

from jobs.repo_config import RepoConfig, RepoConfigError, Resources, effective_limits, parse_config
from verdict.errors import PermanentError


@pytest.mark.parametrize("text,expected", [
    (None, RepoConfig()),
    ("", RepoConfig()),
    ("# only a comment\n", RepoConfig()),
    ("runner: process\n", RepoConfig(runner="process")),
    ("runner: docker\nimage: python:3.12\n", RepoConfig(runner="docker", image="python:3.12")),
    ("resources:\n  cpus: 2\n  memory: 2g\n  timeout: 20m\n",
     RepoConfig(resources=Resources(cpus=2.0, memory_mb=2048, timeout=1200.0))),
    ("resources:\n  memory: 512\n  timeout: 90\n", RepoConfig(resources=Resources(memory_mb=512, timeout=90.0))),
    ("resources:\n  memory: 1.5GiB\n  timeout: 1h\n", RepoConfig(resources=Resources(memory_mb=1536, timeout=3600.0))),
    ("trusted: [Octocat, hubot]\n", RepoConfig(trusted=("octocat", "hubot"))),
    ("scope:\n  mode: all\n", RepoConfig(scope={"mode": "all"})),
    ("_extends: .github\n", RepoConfig(extends=".github")),
])
def test_valid_configs(text, expected):
    assert parse_config(text) == expected


@pytest.mark.parametrize("text,problems", [
    ("runner: vm\n", [(1, "runner: must be one of docker, process, qemu, got 'vm'")]),
    ("runer: docker\n", [(1, "runer: unknown setting")]),
    ("image: docker\nresources:\n  cpus: -1\n  memory: lots\n",
     [(3, "resources.cpus: must be a positive number"), (4, "resources.memory: must be megabytes")]),
    ("resources:\n  timeout: forever\n", [(2, "resources.timeout: must be seconds or a duration")]),
    ("trusted: octocat\n", [(1, "trusted: must be a list of GitHub logins")]),
    ("- just\n- a list\n", [(1, "the file must be a mapping")]),
    ("runner: [unclosed\n", [(2, "not valid YAML")]),
])
def test_invalid_configs_name_the_key_and_line(text, problems):
    with pytest.raises(RepoConfigError) as info:
        parse_config(text)
    got = [(p.line, p.message) for p in info.value.problems]
    assert len(got) == len(problems)
    for (line, message), (want_line, want_start) in zip(got, problems, strict=True):
        assert line == want_line and message.startswith(want_start), got
    assert ".github/verdict.yml is invalid" in str(info.value)


def test_limits_within_the_worker_and_a_request_beyond_fails_clearly():
    asked = parse_config("resources:\n  memory: 1g\n")
    assert effective_limits(asked, cpus=2, memory_mb=4096, timeout=600) == Resources(2, 1024, 600)
    with pytest.raises(PermanentError, match=r"memory 8192 MB is more than this Verdict allows \(4096 MB\)"):
        effective_limits(parse_config("resources:\n  memory: 8g\n"), cpus=2, memory_mb=4096, timeout=600)
