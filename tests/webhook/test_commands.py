"""Slash commands: one per line, case-insensitive, never from quotes or code."""

import pytest

from webhook.commands import Command, parse_commands


@pytest.mark.parametrize("body,expected", [
    ("/test", [Command("test", None, "/test")]),
    ("/verdict test", [Command("test", None, "/verdict test")]),
    ("/TEST ALL", [Command("test", "ALL", "/TEST ALL")]),
    ("/test src/pkg/", [Command("test", "src/pkg/", "/test src/pkg/")]),
    ("/Verdict Test all  ", [Command("test", "all", "/Verdict Test all")]),
    ("/retest", [Command("retest", None, "/retest")]),
    ("  /retest  ", [Command("retest", None, "/retest")]),
    ("/cancel\r\n/ok-to-test", [Command("cancel", None, "/cancel"), Command("ok-to-test", None, "/ok-to-test")]),
    ("LGTM\n/explain\nthanks", [Command("explain", None, "/explain")]),
    ("/help", [Command("help", None, "/help")]),
    ("/retest please", [Command("unknown", None, "/retest please")]),
    ("/verdict frobnicate", [Command("unknown", None, "/verdict frobnicate")]),
    ("/testing", [Command("unknown", None, "/testing")]),
    ("> /retest\n>/test", []),
    ("```\n/retest\n```", []),
    ("~~~sh\n/test all\n~~~\n/help", [Command("help", None, "/help")]),
    ("    /retest", []),
    ("see /usr/bin/env or /tmp", []),
    ("please /retest", []),
    ("", []),
    (None, []),
])
def test_parse_commands(body, expected):
    assert parse_commands(body) == expected
