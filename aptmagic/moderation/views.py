"""Reports as the API shows them, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from aptmagic.auth.principal import Principal
from aptmagic.moderation.models import ReasonCode, Report, ReportStatus
from aptmagic.moderation.repository import ReportRepository
from aptmagic.moderation.schemas import ReportRead
from aptmagic.social.repository import UserLookup
from aptmagic.social.schemas import UserRef
from aptmagic.social.views import DELETED_USER, post_reads


def report_reads(session: Session, reports: Sequence[Report], viewer: Principal) -> list[ReportRead]:
    posts = ReportRepository(session).reported_posts(reports)
    reads = {read.id: read for read in post_reads(session, posts, viewer)}
    names = UserLookup(session).names({r.reporter_id for r in reports})
    return [
        ReportRead(
            id=r.id,
            post=reads[r.post_id],
            reporter=UserRef(id=r.reporter_id, username=names.get(r.reporter_id, DELETED_USER)),
            reason=ReasonCode(r.reason),
            note=r.note,
            status=ReportStatus(r.status),
            created_at=r.created_at,
        )
        for r in reports
    ]
