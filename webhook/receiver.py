"""POST <WEBHOOK_PATH>: verify, record durably, decide, enqueue, answer 202.

Every delivery is either processed exactly once or visibly rejected:
- 401 bad or missing signature, 413 over 25 MB, 400 not JSON or missing headers: nothing stored;
- otherwise the delivery row (with the payload) and the runs it decides on are committed
  before anything is enqueued; a redelivered id is acknowledged as "duplicate" and not
  processed again — unless its work never reached the queue, in which case it is enqueued now;
- if the queue is unreachable the answer is 503, the delivery stays "received" and a
  redelivery (or the worker's reaper) enqueues it later.
"""

from __future__ import annotations

import json
import logging

from flask import Response, current_app, jsonify, request

import storage
from jobs.queues import enqueue_delivery, has_conversation_job
from webhook.events import HANDLERS, Decision, Event, ignored
from webhook.signature import is_valid

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def answer(status: int, outcome: str, detail: str, delivery_id: str | None = None) -> tuple[Response, int]:
    body = {"status": outcome, "detail": detail}
    if delivery_id:
        body["delivery"] = delivery_id
    return jsonify(body), status


def receive() -> tuple[Response, int]:
    services = current_app.extensions["verdict"]
    body = request.get_data(cache=False)  # MAX_CONTENT_LENGTH makes larger bodies a 413 first
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    event_name = request.headers.get("X-GitHub-Event", "").strip()
    if not is_valid(body, services.settings.webhook_secret, request.headers.get("X-Hub-Signature-256")):
        log.warning("rejected delivery %s: bad or missing X-Hub-Signature-256 (check that WEBHOOK_SECRET "
                    "matches the app's webhook secret)", delivery_id or "?")
        return answer(401, "rejected", "signature missing or does not match the webhook secret")
    if not delivery_id or not event_name:
        return answer(400, "rejected", "X-GitHub-Delivery and X-GitHub-Event headers are required")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return answer(400, "rejected", f"body is not valid JSON: {exc}", delivery_id)
    if not isinstance(payload, dict):
        return answer(400, "rejected", "body must be a JSON object", delivery_id)

    event = Event(event_name, delivery_id, payload, app_id=services.settings.app_id)
    with storage.session_scope(services.sessions) as session:
        delivery, new = storage.record_delivery(
            session, delivery_id, event=event_name, action=event.action, payload=body.decode("utf-8"),
            installation_id=event.installation_id,
            repository_full_name=(payload.get("repository") or {}).get("full_name"))
        if not new and delivery.status != "received":
            log.info("delivery %s redelivered; already %s", delivery_id, delivery.status)
            return answer(202, "duplicate", f"delivery already {delivery.status}", delivery_id)
        if new:
            decision = decide(event, session)
            status = {"accepted": "received"}.get(decision.status, decision.status)
            storage.set_delivery_status(session, delivery_id, status, decision.detail)
            run_ids, outcome, detail = decision.run_ids, decision.status, decision.detail
            comment_job = decision.comment_job
        else:  # recorded before, but its work never reached the queue
            run_ids = storage.queued_run_ids_for_delivery(session, delivery_id)
            outcome, detail, status = "accepted", delivery.detail or "", "received"
            comment_job = has_conversation_job(delivery.event, delivery.action)  # only accepted ones stay "received"
    if status != "received":
        log.info("delivery %s %s.%s %s: %s", delivery_id, event_name, event.action, outcome, detail)
        return answer(202, outcome, detail, delivery_id)
    try:
        enqueue_delivery(services.redis, services.settings, delivery_id, run_ids=run_ids, comment_job=comment_job,
                         event=event_name)
    except Exception as exc:  # redis raises many types; the delivery is safe in the database
        log.error("delivery %s recorded but not enqueued (%s: %s); it will be retried",
                  delivery_id, exc.__class__.__name__, exc)
        return answer(503, "recorded", "recorded but the queue is unreachable; redeliver or wait for the reaper",
                      delivery_id)
    with storage.session_scope(services.sessions) as session:
        storage.set_delivery_status(session, delivery_id, "enqueued", detail)
    log.info("delivery %s %s.%s accepted: %s", delivery_id, event_name, event.action, detail)
    return answer(202, "accepted", detail, delivery_id)


def decide(event: Event, session) -> Decision:
    handler = HANDLERS.get(event.name)
    if handler is None:
        return ignored(f"event {event.name} is not handled")
    try:
        with session.begin_nested():
            return handler(event, session)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("delivery %s: %s payload is malformed: %r", event.delivery_id, event.name, exc)
        return Decision("rejected", f"{event.name} payload is malformed: missing or wrong field {exc}")
