"""Reports by users, and admins hiding and unhiding posts (each an audit event)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aptmagic.auth.principal import Principal
from aptmagic.auth.service import AuthService
from aptmagic.db.base import utcnow
from aptmagic.moderation.models import ReasonCode, Report, ReportStatus
from aptmagic.moderation.repository import ReportRepository
from aptmagic.social import cursor as cursors
from aptmagic.social.models import Post
from aptmagic.social.service import SocialService, me


class ModerationService:
    def __init__(self, social: SocialService) -> None:
        self.social = social

    def report(self, session: Session, viewer: Principal, post_id: str, reason: ReasonCode, note: str
               ) -> tuple[Report, bool]:  # fmt: skip
        """File a report; True when new. One open report per user and post: again returns the open one."""
        reporter_id = me(viewer)
        post = self.social.get(session, post_id, viewer)
        repo = ReportRepository(session)
        if (existing := repo.open_for(post.id, reporter_id)) is not None:
            return existing, False
        report = Report(post_id=post.id, reporter_id=reporter_id, reason=reason, note=note,
                        status=ReportStatus.open, created_at=utcnow())  # fmt: skip
        try:
            with session.begin_nested():
                repo.add(report)
        except IntegrityError:  # a concurrent request filed it first (the partial unique index)
            found = repo.open_for(post.id, reporter_id)
            if found is None:
                raise
            return found, False
        return report, True

    def reports(self, session: Session, status: ReportStatus, cursor: str | None, limit: int
                ) -> tuple[Sequence[Report], str | None]:  # fmt: skip
        rows = ReportRepository(session).page(status, cursors.decode(cursor), limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        return rows, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None

    def hide(self, session: Session, admin: Principal, post_id: str, reason: ReasonCode, note: str,
             ip: str | None = None) -> Post:  # fmt: skip
        post = self.social.get(session, post_id, admin)
        now = utcnow()
        post.hidden, post.hidden_reason, post.hidden_by, post.hidden_at = True, reason, admin.user_id, now
        resolved = ReportRepository(session).resolve_open(post.id, admin.user_id, now)
        AuthService.audit(session, "post.hide", actor_id=admin.user_id, target_type="post", target_id=post.id, ip=ip,
                          details={"reason": str(reason), "note": note, "author": post.author_id,
                                   "reports_resolved": resolved})  # fmt: skip
        session.flush()
        return post

    def unhide(self, session: Session, admin: Principal, post_id: str, ip: str | None = None) -> Post:
        post = self.social.get(session, post_id, admin)
        if post.hidden:
            AuthService.audit(session, "post.unhide", actor_id=admin.user_id, target_type="post", target_id=post.id,
                              ip=ip, details={"was": post.hidden_reason, "author": post.author_id})  # fmt: skip
        post.hidden, post.hidden_reason, post.hidden_by, post.hidden_at = False, None, None, None
        session.flush()
        return post
