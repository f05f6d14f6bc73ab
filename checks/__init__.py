"""checks: the only door to GitHub — app auth, check run lifecycle, and what a check run says."""

from checks.client import CheckRunsAPI, GitHubApp, InstallationClient, RepoContentsAPI
from checks.conversation import ConversationAPI, ConversationClient, Permission, PullRequest
from checks.errors import GitHubPermanentError, GitHubTransientError
from checks.lifecycle import ANNOTATIONS_PER_REQUEST, complete, create_config_check, create_queued, mark_in_progress
from checks.output import (
    CHECK_NAME,
    CONFIG_CHECK_NAME,
    CheckReport,
    actions_for,
    approval_report,
    config_report,
    error_report,
    report_for,
    truncate_utf8,
)

__all__ = [
    "ANNOTATIONS_PER_REQUEST", "CHECK_NAME", "CONFIG_CHECK_NAME", "CheckReport", "CheckRunsAPI", "ConversationAPI",
    "ConversationClient", "GitHubApp", "Permission", "PullRequest",
    "GitHubPermanentError", "GitHubTransientError", "InstallationClient", "RepoContentsAPI", "actions_for",
    "approval_report", "complete", "config_report", "create_config_check", "create_queued", "error_report",
    "mark_in_progress", "report_for", "truncate_utf8",
]
