"""What every flow is handed: the transaction it writes in, the names it speaks of, and a way to run slow
work (downloads) after the transaction has committed and the platform has been answered.

A flow is `async def flow(*, context: FlowContext, message: IncomingMessage) -> list[Reply]`; each flow
module lists its buttons and forms in `ACTIONS` and `FORMS` (id -> flow), and the core looks them up there.
Slow work (downloads) goes through `attach_evidence`, which runs after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers import report_texts
from handlers.messages import Quote


@dataclass(frozen=True)
class RoleNames:
    """How the school's people are named, and the clock their times are shown in."""

    headteacher: str = "the headteacher"
    chair: str = "the chair of governors"
    dsl: str = "the Designated Safeguarding Lead"
    # The school's clock, for the times people are shown ("1 December 2026 at 14:05").
    timezone: str = "Europe/London"

    def of(self, role: str | None) -> str:
        template = report_texts.ROLE_NAMES.get(role or "", "{headteacher}")
        return template.format(headteacher=self.headteacher, chair=self.chair, dsl=self.dsl)

    def at_start(self, role: str | None) -> str:
        """The name to begin a sentence with ("The headteacher", "Mrs Patel")."""
        name = self.of(role)
        return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class FlowContext:
    session: object  # the transaction's AsyncSession: everything a flow writes commits together
    names: RoleNames
    cipher: object  # storage.crypto.Cipher: seals the tokens forms carry
    # The policy's own "support" clauses, shown to someone who has just reported.
    support: tuple[Quote, ...] = ()
    notify_jitter_seconds: float = 0
    # Downloads the files, strips them and keeps them with the case, once the transaction has committed
    # and the platform has had its answer: slow work that may fail without undoing the report.
    attach_evidence: Callable[..., None] = lambda *, case_id, files: None
    # The advisor, for flows that quote the policy (the clause a removal request rests on).
    advisor: object = None
    question_reminder_school_days: int = 2
    removal_deadline_hours: float = 24

    @property
    def headteacher(self) -> str:
        return self.names.headteacher


def day_label(day) -> str:
    """A case's dates are days: "3 December 2026"."""
    return "" if day is None else f"{day.day} {day:%B %Y}"


def time_label(moment, *, timezone: str) -> str:
    """A decision's time in the school's clock: "3 December 2026 at 14:05"."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{day_label(local)} at {local:%H:%M}"
