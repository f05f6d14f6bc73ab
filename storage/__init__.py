"""Verdict's database: models, and named functions for everything the app stores or asks.

Callers open a unit of work with `session_scope(factory)` and call the functions below;
no SQL outside this package.
"""

from storage.approvals import approvals_for, approve, is_approved
from storage.db import make_engine, migrate, ping, session_factory, session_scope
from storage.deliveries import deliveries_with_status, get_delivery, record_delivery, set_delivery_status
from storage.errors import NotFound, StorageError
from storage.impact import impact_record, save_impact_record
from storage.installations import (
    get_installation,
    get_repository,
    remove_installation,
    remove_repository,
    set_installation_suspended,
    upsert_installation,
    upsert_repository,
)
from storage.models import (
    CONCLUSIONS,
    DELIVERY_STATUSES,
    LOG_STREAMS,
    RUN_STATUSES,
    Approval,
    Artifact,
    Base,
    Delivery,
    ImpactRecord,
    Installation,
    LogLine,
    Repository,
    Run,
    RunStatus,
    TestResult,
)
from storage.results import (
    add_artifact,
    add_test_results,
    append_log,
    append_logs,
    artifacts,
    log_lines,
    test_results,
)
from storage.runs import (
    active_runs_for_pull,
    claim_run,
    finish_run,
    get_run,
    heartbeat,
    latest_completed_run,
    latest_run,
    latest_runs,
    mark_reported,
    pull_numbers_for_sha,
    queued_run_ids_for_delivery,
    run_for_check_run,
    run_request,
    runs_for_delivery,
    runs_for_repository,
    set_check_run_id,
    stale_runs,
    start_run,
    status_history,
    unreported_completed_runs,
    waiting_runs,
)

__all__ = [
    # engines, sessions, schema
    "make_engine", "migrate", "ping", "session_factory", "session_scope",
    # errors
    "NotFound", "StorageError",
    # models and the values of their status columns
    "Approval", "Artifact", "Base", "Delivery", "ImpactRecord", "Installation", "LogLine", "Repository", "Run",
    "RunStatus", "TestResult",
    "CONCLUSIONS", "DELIVERY_STATUSES", "LOG_STREAMS", "RUN_STATUSES",
    # deliveries
    "deliveries_with_status", "get_delivery", "record_delivery", "set_delivery_status",
    # installations and repositories
    "get_installation", "get_repository", "remove_installation", "remove_repository",
    "set_installation_suspended", "upsert_installation", "upsert_repository",
    # runs
    "claim_run", "finish_run", "get_run", "heartbeat", "latest_runs", "mark_reported",
    "queued_run_ids_for_delivery", "runs_for_repository", "set_check_run_id", "stale_runs", "start_run",
    "status_history", "unreported_completed_runs", "waiting_runs",
    # what people asked in pull request comments
    "active_runs_for_pull", "latest_completed_run", "latest_run", "pull_numbers_for_sha", "run_for_check_run",
    "run_request", "runs_for_delivery",
    "approvals_for", "approve", "is_approved",
    # what runs produce
    "add_artifact", "add_test_results", "append_log", "append_logs", "artifacts", "log_lines", "test_results",
    # which tests ran which functions (scope's impact data)
    "impact_record", "save_impact_record",
]
