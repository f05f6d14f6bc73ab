"""scope: from changed files to the tests that can fail, with the reason for each."""

from scope.changes import MAX_CHANGED_FILES, ChangeSet, changed_files, push_changes
from scope.config import DEFAULT_FULL_RUN_ON, ScopeConfig, scope_config
from scope.errors import ImpactDataError, ScopeConfigError, ScopeError
from scope.impact import ImpactMap
from scope.select import select_tests
from scope.selection import KINDS, SelectedTest, Selection
from scope.summary import summary_markdown, summary_text

__all__ = [
    "DEFAULT_FULL_RUN_ON", "KINDS", "MAX_CHANGED_FILES", "ChangeSet", "ImpactDataError", "ImpactMap", "ScopeConfig",
    "ScopeConfigError", "ScopeError", "SelectedTest", "Selection", "changed_files", "push_changes",
    "scope_config", "select_tests", "summary_markdown", "summary_text",
]
