"""checks/conversation.py against the GitHub stand-in: replies, reactions, roles, pull requests, limits."""

from __future__ import annotations

import pytest

from checks import ConversationClient, GitHubPermanentError, Permission
from checks.conversation import MAX_COMMENT_CHARS
from tests.gitrepo import GitRepo
from verdict.settings import Settings

INSTALLATION = 502
REPO = "octo-org/widgets"
SHA = "c" * 40


@pytest.fixture
def api(standin, tmp_path):
    standin.add_installation(INSTALLATION, "octo-org")
    repo = GitRepo(tmp_path / "widgets")
    repo.write("a.txt", "a\n", "one")
    standin.add_repository(INSTALLATION, REPO, repo.path)
    standin.add_pull_request(REPO, 7, SHA, "feature", author="alice")
    from checks import GitHubApp

    app = GitHubApp(Settings(app_id=standin.app_id, private_key=standin.private_key_pem, webhook_secret="s",
                             github_api_url=standin.url))
    return ConversationClient(app, INSTALLATION)


def test_reply_and_react_are_recorded_as_the_apps_bot(standin, api):
    theirs = standin.add_comment(REPO, 7, "/test", author="alice")
    reply_id = api.comment(REPO, 7, "Looking — ünïcödé")
    api.react(REPO, theirs.id, "eyes")
    api.react(REPO, theirs.id, "eyes")  # already there: GitHub answers 200, nothing new
    [reply] = standin.comments(REPO, 7)
    assert (reply.id, reply.body, reply.author) == (reply_id, "Looking — ünïcödé", "verdict[bot]")
    assert [(r.comment_id, r.content, r.by) for r in standin.reactions()] == [(theirs.id, "eyes", "verdict[bot]")]
    assert standin.errors == []


@pytest.mark.parametrize("role,permission,can_write", [
    ("admin", "admin", True), ("maintain", "write", True), ("write", "write", True),
    ("triage", "read", False), ("read", "read", False), ("none", "none", False),
])
def test_permission_is_the_role_github_reports(standin, api, role, permission, can_write):
    standin.set_permission(REPO, "bob", role)
    answer = api.permission(REPO, "bob")
    assert answer == Permission(role, permission) and answer.can_write is can_write


def test_a_login_github_does_not_know_has_no_permission(standin, api):
    assert api.permission(REPO, "nobody-at-all").can_write is False
    with pytest.raises(GitHubPermanentError) as caught:
        api.permission("octo-org/elsewhere", "bob")  # the repository itself is out of reach
    assert caught.value.status == 404


@pytest.mark.parametrize("fork", [False, True])
def test_pull_request_facts(standin, api, fork):
    standin.add_pull_request(REPO, 8, SHA, "topic", base_ref="develop", author="carol", fork=fork)
    pull = api.pull_request(REPO, 8)
    assert (pull.number, pull.head_sha, pull.head_ref, pull.base_ref, pull.author) == (8, SHA, "topic", "develop",
                                                                                       "carol")
    assert pull.from_fork is fork
    with pytest.raises(GitHubPermanentError):
        api.pull_request(REPO, 999)


def test_comment_over_githubs_limit_is_refused_before_sending(standin, api):
    with pytest.raises(ValueError, match="65536"):
        api.comment(REPO, 7, "x" * (MAX_COMMENT_CHARS + 1))
    api.comment(REPO, 7, "x" * MAX_COMMENT_CHARS)
    assert len(standin.comments(REPO, 7)) == 1


def test_standin_refuses_a_comment_over_the_limit_like_github(standin, api):
    import httpx

    token = api.clone_token()
    resp = httpx.post(f"{standin.url}/repos/{REPO}/issues/7/comments", json={"body": "y" * (MAX_COMMENT_CHARS + 1)},
                      headers={"Authorization": f"token {token}"})
    assert resp.status_code == 422 and "too long" in resp.json()["message"]
    standin.errors.clear()


def test_standin_documents_match_githubs_schemas(standin, api):
    import httpx

    token = api.clone_token()
    standin.set_permission(REPO, "bob", "maintain")
    theirs = standin.add_comment(REPO, 7, "/test", author="alice")
    standin.add_pull_request(REPO, 9, SHA, "topic", author="dave", fork=True)

    def call(method, path, body=None):
        resp = httpx.request(method, f"{standin.url}{path}", json=body, headers={"Authorization": f"token {token}"})
        assert resp.status_code < 300, resp.text
        return resp.json()

    answers = [
        ("issue-comment", call("POST", f"/repos/{REPO}/issues/7/comments", {"body": "hi"})),
        ("reaction", call("POST", f"/repos/{REPO}/issues/comments/{theirs.id}/reactions", {"content": "eyes"})),
        ("repository-collaborator-permission", call("GET", f"/repos/{REPO}/collaborators/bob/permission")),
        ("pull-request", call("GET", f"/repos/{REPO}/pulls/7")),
        ("pull-request", call("GET", f"/repos/{REPO}/pulls/9")),
    ]
    for schema, document in answers:
        assert standin.spec.component_errors(schema, document) == [], schema
    assert standin.errors == []
