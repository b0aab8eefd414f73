"""Every query of the alerts domain: the alerts sent."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aptmagic.alerts.models import AlertSent
from aptmagic.db.base import utcnow


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, period: str, kind: str, channel: str, message: str) -> int | None:
        """The new row's id, or None when this (period, kind, channel) was claimed before."""
        row = AlertSent(
            period=period, kind=kind, channel=channel, status="sending", message=message, created_at=utcnow()
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return None
        return row.id

    def finish(self, alert_id: int, status: str, error: str | None) -> None:
        self.session.execute(
            update(AlertSent).where(AlertSent.id == alert_id).values(status=status, error=error, finished_at=utcnow())
        )

    def sent(self, kind: str | None = None) -> Sequence[AlertSent]:
        query = select(AlertSent).order_by(AlertSent.id)
        if kind:
            query = query.where(AlertSent.kind == kind)
        return self.session.scalars(query).all()
