"""`.github/verdict.yml` over organisation defaults (`_extends`), and the "verdict/config" check run of an invalid one.

Read through the stand-in's contents API, from each repository's default branch.
"""

from __future__ import annotations

import pytest

import storage
from checks import ConversationClient
from jobs import pipeline, queues
from jobs.repo_config import RepoConfigError, Resources, deep_merge, extends_source, load_config
from tests.gitrepo import GitRepo
from tests.jobs import test_commands
from tests.jobs.test_commands import INSTALLATION, REPO
from tests.jobs.test_gating import check_run_of, execute_queued, pull_request, run_row

ORG_DEFAULTS = ("trusted: [rex]\nresources:\n  cpus: 1\n  timeout: 60\n"
                "scope:\n  mode: all\n  skip_if_only_changed: [docs/**]\n")

repo = test_commands.repo  # the same repository fixture; ctx comes from tests/jobs/conftest.py


@pytest.fixture
def org(tmp_path, standin, repo):
    """The organisation's `.github` repository, and a shared one, in the same installation."""
    defaults = GitRepo(tmp_path / "dotgithub")
    defaults.write(".github/verdict.yml", ORG_DEFAULTS, "org defaults")
    standin.add_repository(INSTALLATION, "octo-org/.github", defaults.path, repo_id=6299)
    shared = GitRepo(tmp_path / "shared")
    shared.write("ci/verdict.yml", "runner: process\ntrusted: [tia]\n", "shared settings")
    standin.add_repository(INSTALLATION, "octo-org/shared", shared.path, repo_id=6298)
    return defaults


def api(ctx) -> ConversationClient:
    return ConversationClient(ctx.github, INSTALLATION)


@pytest.mark.parametrize("extends,source", [
    (".github", ("octo-org/.github", ".github/verdict.yml")),
    ("tools", ("octo-org/tools", ".github/verdict.yml")),
    ("other-org/settings:ci/verdict.yml", ("other-org/settings", "ci/verdict.yml")),
    (" other-org/settings ", ("other-org/settings", ".github/verdict.yml")),
])
def test_extends_names_a_repository_and_a_file(extends, source):
    assert extends_source(REPO, extends) == source


def test_deep_merge_keeps_defaults_the_repository_does_not_set():
    base = {"resources": {"cpus": 1, "timeout": 60}, "trusted": ["rex"], "scope": {"mode": "all"}}
    own = {"resources": {"timeout": 30}, "trusted": ["wes"]}
    assert deep_merge(base, own) == {"resources": {"cpus": 1, "timeout": 30}, "trusted": ["wes"],
                                     "scope": {"mode": "all"}}


def test_organisation_defaults_are_merged_under_the_repositorys_own(ctx, standin, repo, org):
    repo.write(".github/verdict.yml", "_extends: .github\nresources:\n  timeout: 30\n", "extend org defaults")
    config = load_config(api(ctx), REPO, "main")
    assert config.resources == Resources(cpus=1.0, timeout=30.0)
    assert config.trusted == ("rex",) and config.scope == {"mode": "all", "skip_if_only_changed": ["docs/**"]}
    assert config.extends == ".github"
    repo.write(".github/verdict.yml", "_extends: octo-org/shared:ci/verdict.yml\n", "extend a shared file")
    config = load_config(api(ctx), REPO, "main")
    assert (config.runner, config.trusted) == ("process", ("tia",))
    assert standin.errors == []


def test_org_defaults_are_read_from_their_default_branch_only(ctx, standin, repo, org):
    org.git("checkout", "-q", "-b", "elsewhere")
    org.write(".github/verdict.yml", "trusted: [mallory]\n", "not on the default branch")
    org.git("checkout", "-q", "main")
    repo.write(".github/verdict.yml", "_extends: .github\n", "extend org defaults")
    assert load_config(api(ctx), REPO, "main").trusted == ("rex",)


@pytest.mark.parametrize("own,expected", [
    ("runner: docker\n_extends: missing\n", "line 2: _extends: octo-org/missing has no .github/verdict.yml"),
    ("_extends: shared:nope.yml\n", "line 1: _extends: octo-org/shared has no nope.yml"),
])
def test_an_unreadable_extends_is_a_problem_on_its_line(ctx, standin, repo, org, own, expected):
    repo.write(".github/verdict.yml", own, "extend something that is not there")
    with pytest.raises(RepoConfigError) as caught:
        load_config(api(ctx), REPO, "main")
    assert expected in str(caught.value)


def test_an_invalid_config_gets_its_own_check_run_and_nothing_runs(ctx, standin, repo, org):
    org.write(".github/verdict.yml", "resources:\n  memory: lots\n", "broken org defaults")
    repo.write(".github/verdict.yml", "# settings\nrunner: vm\n_extends: .github\nscope:\n  mode: all\n"
               "resources:\n  cpus: many\n", "broken config")
    run_id = pull_request(ctx, repo, author="ada", association="OWNER", fork=False)
    pipeline.create_check(run_id)
    pipeline.create_check(run_id)  # a retried job makes no second config check
    [config] = [c for c in standin.check_runs(REPO) if c.name == "verdict/config"]
    assert (config.status, config.conclusion, config.output["title"]) == ("completed", "failure",
                                                                          "Invalid .github/verdict.yml")
    lines = sorted((a["path"], a["start_line"], a["annotation_level"]) for a in config.annotations)
    assert lines == [(".github/verdict.yml", line, "failure") for line in (2, 3, 7)]  # 3: the broken defaults
    main = check_run_of(standin, ctx, run_id)
    assert (main.conclusion, main.output["title"]) == ("failure", "Invalid .github/verdict.yml")
    assert "verdict/config" in main.output["summary"] and "line 2: runner" in main.output["summary"]
    assert run_row(ctx, run_id).status == "completed" and not execute_queued(ctx, run_id)
    repo.write(".github/verdict.yml", "_extends: .github\n", "only the broken defaults")
    with storage.session_scope(ctx.sessions) as session:
        again = storage.start_run(session, installation_id=INSTALLATION, repository_id=6200, head_sha=repo.sha,
                                  trigger="check_run.rerequested", delivery_id=None, rerun=True).id
    pipeline.create_check(again)
    [_, second] = [c for c in standin.check_runs(REPO) if c.name == "verdict/config"]
    [annotation] = second.annotations
    assert annotation["start_line"] == 1
    assert "octo-org/.github:.github/verdict.yml line 2: resources.memory" in annotation["message"]
    assert queues.job_id(ctx.settings, "execute", again) not in queues.runs_queue(ctx.redis, ctx.settings).get_job_ids()
    assert standin.errors == []
