"""app.yml is a contract: every subscribed event has a handler, and the permissions are what Verdict needs."""

from pathlib import Path

import yaml

from webhook.events import HANDLERS

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "app.yml").read_text())


def test_every_subscribed_event_has_a_handler():
    assert set(MANIFEST["default_events"]) <= set(HANDLERS)


def test_required_events_and_permissions():
    assert set(MANIFEST["default_events"]) == {"push", "pull_request", "check_suite", "check_run", "issue_comment",
                                               "installation", "installation_repositories"}
    assert MANIFEST["default_permissions"] == {"checks": "write", "contents": "read", "pull_requests": "write",
                                               "issues": "write", "metadata": "read"}
    assert MANIFEST["name"] and MANIFEST["url"] and MANIFEST["hook_attributes"]["url"]
