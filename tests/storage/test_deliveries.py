"""Deliveries: recorded once per X-GitHub-Delivery, even when two processes race, then tracked."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import session_scope
from tests.storage.conftest import race


def record(session: Session, delivery_id: str = "d-1", **changes: object) -> tuple[storage.Delivery, bool]:
    values: dict = dict(event="pull_request", action="opened", payload='{"action": "opened"}',
                        installation_id=1001, repository_full_name="octo-org/widgets")
    return storage.record_delivery(session, delivery_id, **(values | changes))


def test_a_new_delivery_is_recorded_as_received(session: Session) -> None:
    delivery, new = record(session)
    assert new is True
    assert (delivery.id, delivery.event, delivery.action) == ("d-1", "pull_request", "opened")
    assert delivery.status == "received"
    assert delivery.payload == '{"action": "opened"}'
    assert delivery.installation_id == 1001 and delivery.repository_full_name == "octo-org/widgets"


def test_a_redelivery_returns_the_existing_row(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        record(session)
    with session_scope(factory) as session:
        delivery, new = record(session, payload='{"changed": true}')
        assert new is False
        assert delivery.payload == '{"action": "opened"}'


def test_recording_twice_in_one_session_returns_false(session: Session) -> None:
    assert record(session)[1] is True
    assert record(session)[1] is False


def test_the_loser_of_a_race_gets_the_winners_row(factory: sessionmaker[Session]) -> None:
    delivery, new = race(factory, lambda s: record(s), lambda s: record(s, payload="loser"))
    assert new is False
    assert delivery.payload == '{"action": "opened"}'


def test_concurrent_recording_has_exactly_one_winner(factory: sessionmaker[Session]) -> None:
    start = threading.Barrier(8)

    def attempt(_: int) -> bool:
        start.wait()
        with session_scope(factory) as session:
            return record(session, "d-race")[1]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(True) == 1


def test_status_and_detail_change(session: Session) -> None:
    delivery, _ = record(session)
    received = delivery.updated_at
    storage.set_delivery_status(session, "d-1", "ignored", detail="draft pull request")
    stored = storage.get_delivery(session, "d-1")
    assert stored is not None
    assert (stored.status, stored.detail) == ("ignored", "draft pull request")
    assert stored.updated_at >= received


def test_unknown_status_and_unknown_delivery_are_refused(session: Session) -> None:
    record(session)
    with pytest.raises(ValueError, match="unknown delivery status"):
        storage.set_delivery_status(session, "d-1", "lost")
    with pytest.raises(storage.NotFound):
        storage.set_delivery_status(session, "nope", "processed")


def test_get_delivery_of_an_unknown_id_is_none(session: Session) -> None:
    assert storage.get_delivery(session, "nope") is None


def test_deliveries_with_status_filters_by_status_and_age(session: Session) -> None:
    for delivery_id in ("old", "new", "done"):
        record(session, delivery_id)
    storage.set_delivery_status(session, "done", "processed")
    old = storage.get_delivery(session, "old")
    assert old is not None
    old.updated_at = datetime.now(UTC) - timedelta(minutes=10)
    session.flush()

    assert [d.id for d in storage.deliveries_with_status(session, "received")] == ["old", "new"]
    cutoff = datetime.now(UTC) - timedelta(minutes=5)
    assert [d.id for d in storage.deliveries_with_status(session, "received", older_than=cutoff)] == ["old"]
    assert [d.id for d in storage.deliveries_with_status(session, "processed")] == ["done"]
