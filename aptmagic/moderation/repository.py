"""Every query on reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update

from aptmagic.kit.repository import Repository
from aptmagic.moderation.models import Report, ReportStatus
from aptmagic.social.cursor import Cursor
from aptmagic.social.models import Post


class ReportRepository(Repository[Report]):
    model = Report

    def open_for(self, post_id: str, reporter_id: str) -> Report | None:
        query = select(Report).where(
            Report.post_id == post_id, Report.reporter_id == reporter_id, Report.status == ReportStatus.open
        )
        return self.session.scalars(query).first()

    def page(self, status: ReportStatus, after: Cursor | None, limit: int) -> Sequence[Report]:
        """Oldest first: the queue is worked from the front."""
        query = select(Report).where(Report.status == status)
        if after is not None:
            query = query.where(or_(Report.created_at > after.created_at,
                                    and_(Report.created_at == after.created_at, Report.id > after.id)))  # fmt: skip
        return self.session.scalars(query.order_by(Report.created_at, Report.id).limit(limit)).all()

    def reported_posts(self, reports: Sequence[Report]) -> Sequence[Post]:
        post_ids = {r.post_id for r in reports}
        return self.session.scalars(select(Post).where(Post.id.in_(post_ids))).all() if post_ids else []

    def resolve_open(self, post_id: str, by: str | None, now: datetime) -> int:
        result = self.session.execute(
            update(Report).where(Report.post_id == post_id, Report.status == ReportStatus.open)
            .values(status=ReportStatus.resolved, resolved_at=now, resolved_by=by)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
