"""The Checks API rules the OpenAPI schema does not carry, and how a write changes a check run.

Sizes of `summary`, `text`, annotation `message` and `raw_details` are counted in UTF-8 bytes:
GitHub documents characters for some of them, and the stand-in is deliberately stricter.
"""

from __future__ import annotations

from typing import Any

from .documents import iso
from .model import CheckRunRecord

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_OUTPUT_BYTES = 65535
MAX_ANNOTATION_BYTES = 64 * 1024
MAX_ANNOTATION_TITLE = 255
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}
ANNOTATION_LEVELS = {"notice", "warning", "failure"}
ANNOTATION_REQUIRED = ("path", "start_line", "end_line", "annotation_level", "message")
ACTIONS_ONLY_STATUSES = {"waiting", "requested", "pending"}


def _byte_len(value: object) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def check_run_problems(body: dict[str, Any]) -> list[str]:
    """Every way a create/update body breaks GitHub's limits (empty when it is acceptable)."""
    problems = _status_problems(body)
    if "output" in body:
        problems += _output_problems(body["output"])
    actions = body.get("actions") or []
    if len(actions) > MAX_ACTIONS:
        problems.append(f"Only {MAX_ACTIONS} actions are allowed per check run (got {len(actions)}).")
    for index, action in enumerate(actions):
        for key, limit in ACTION_LIMITS.items():
            value = action.get(key) if isinstance(action, dict) else None
            if not isinstance(value, str):
                problems.append(f"actions[{index}].{key} is required.")
            elif len(value) > limit:
                problems.append(f"actions[{index}].{key} is too long (maximum is {limit} characters).")
    return problems


def _status_problems(body: dict[str, Any]) -> list[str]:
    status, conclusion = body.get("status"), body.get("conclusion")
    problems = []
    if status in ACTIONS_ONLY_STATUSES:
        problems.append("Only GitHub Actions can set a status of waiting, pending, or requested.")
    if status == "completed" and conclusion is None:
        problems.append("conclusion is required when status is completed.")
    if "completed_at" in body and conclusion is None:
        problems.append("conclusion is required when completed_at is provided.")
    if conclusion == "stale":
        problems.append("You cannot change a check run conclusion to stale, only GitHub can set this.")
    return problems


def _output_problems(output: Any) -> list[str]:
    if not isinstance(output, dict):
        return ["output must be an object."]
    problems = []
    for key in ("title", "summary"):
        if not isinstance(output.get(key), str):
            problems.append(f"output.{key} is required when output is given.")
    for key in ("summary", "text"):
        size = _byte_len(output.get(key))
        if size > MAX_OUTPUT_BYTES:
            problems.append(f"output.{key} is too long ({size} bytes; maximum is {MAX_OUTPUT_BYTES} bytes).")
    annotations = output.get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
        problems.append(
            f"Only {MAX_ANNOTATIONS_PER_REQUEST} annotations are allowed per request "
            f"(got {len(annotations)})."
        )
    for index, annotation in enumerate(annotations):
        problems += [f"output.annotations[{index}]: {p}" for p in annotation_problems(annotation)]
    return problems


def annotation_problems(annotation: Any) -> list[str]:
    if not isinstance(annotation, dict):
        return ["must be an object"]
    missing = [key for key in ANNOTATION_REQUIRED if annotation.get(key) is None]
    if missing:
        return [f"missing required {', '.join(missing)}"]
    problems = []
    path, start, end = annotation["path"], annotation["start_line"], annotation["end_line"]
    if not isinstance(path, str) or not path or path.startswith("/"):
        problems.append(f"path must be relative to the repository root (got {path!r})")
    if not isinstance(start, int) or not isinstance(end, int) or start < 1 or end < start:
        problems.append(f"start_line/end_line must satisfy 1 <= start_line <= end_line (got {start}, {end})")
    has_columns = annotation.get("start_column") is not None or annotation.get("end_column") is not None
    if has_columns and start != end:
        problems.append("start_column and end_column are only allowed when start_line equals end_line")
    if annotation["annotation_level"] not in ANNOTATION_LEVELS:
        problems.append(f"annotation_level must be one of {sorted(ANNOTATION_LEVELS)}")
    if _byte_len(annotation["message"]) > MAX_ANNOTATION_BYTES:
        problems.append("message is too long (maximum is 64 KB)")
    if len(annotation.get("title") or "") > MAX_ANNOTATION_TITLE:
        problems.append(f"title is too long (maximum is {MAX_ANNOTATION_TITLE} characters)")
    if _byte_len(annotation.get("raw_details")) > MAX_ANNOTATION_BYTES:
        problems.append("raw_details is too long (maximum is 64 KB)")
    return problems


def new_check_run(
    run_id: int,
    full_name: str,
    body: dict[str, Any],
    now: float,
    *,
    check_suite_id: int,
    installation_id: int,
) -> CheckRunRecord:
    run = CheckRunRecord(
        id=run_id,
        full_name=full_name,
        name=body["name"],
        head_sha=body["head_sha"],
        status="queued",
        conclusion=None,
        details_url=None,
        external_id=None,
        output={"title": None, "summary": None, "text": None},
        annotations=[],
        actions=[],
        started_at=iso(now),
        completed_at=None,
        check_suite_id=check_suite_id,
        installation_id=installation_id,
    )
    apply_write(run, body, now)
    return run


def apply_write(run: CheckRunRecord, body: dict[str, Any], now: float) -> None:
    """Apply one create/update body to `run`, as GitHub does (annotations are appended)."""
    for key in ("name", "details_url", "external_id", "started_at"):
        if key in body:
            setattr(run, key, body[key])
    output = body.get("output")
    annotations = list(output.get("annotations") or []) if output else []
    if output:
        for key in ("title", "summary", "text"):
            if key in output:
                run.output[key] = output[key]
        run.annotations.extend(dict(annotation) for annotation in annotations)
    if "actions" in body:
        run.actions = [dict(action) for action in body["actions"]]
    if body.get("conclusion") is not None:
        run.status, run.conclusion = "completed", body["conclusion"]
        run.completed_at = body.get("completed_at") or iso(now)
    elif "status" in body:
        run.status = body["status"]
        run.conclusion, run.completed_at = None, None
    run.history.append((run.status, run.conclusion))
    run.annotation_batches.append(len(annotations))
