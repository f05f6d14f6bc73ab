"""Webhook deliveries: record each X-GitHub-Delivery once, then track what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import NotFound
from storage.models import DELIVERY_STATUSES, Delivery, require_aware, utcnow


def record_delivery(
    session: Session,
    delivery_id: str,
    *,
    event: str,
    action: str | None,
    payload: str,
    installation_id: int | None = None,
    repository_full_name: str | None = None,
) -> tuple[Delivery, bool]:
    """Record a delivery as "received"; (row, True) the first time, (existing row, False) after.

    Race-safe: when two processes record the same id at once, one insert wins and the other
    process gets the winner's row and False.
    """
    if (existing := session.get(Delivery, delivery_id)) is not None:
        return existing, False
    delivery = Delivery(id=delivery_id, event=event, action=action, payload=payload, status="received",
                        installation_id=installation_id, repository_full_name=repository_full_name)
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        if (existing := session.get(Delivery, delivery_id)) is None:
            raise  # not a duplicate id: some other constraint failed
        return existing, False
    return delivery, True


def set_delivery_status(
    session: Session, delivery_id: str, status: str, detail: str | None = None
) -> Delivery:
    if status not in DELIVERY_STATUSES:
        expected = ", ".join(DELIVERY_STATUSES)
        raise ValueError(f"unknown delivery status {status!r}; expected one of {expected}")
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("delivery", delivery_id)
    delivery.status = status
    delivery.detail = detail
    delivery.updated_at = utcnow()
    session.flush()
    return delivery


def get_delivery(session: Session, delivery_id: str) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def deliveries_with_status(
    session: Session, status: str, older_than: datetime | None = None
) -> list[Delivery]:
    """Deliveries in `status`, oldest first; with `older_than`, only those last updated before it."""
    query = select(Delivery).where(Delivery.status == status)
    if older_than is not None:
        query = query.where(Delivery.updated_at < require_aware(older_than, "older_than"))
    return list(session.scalars(query.order_by(Delivery.updated_at, Delivery.id)))
