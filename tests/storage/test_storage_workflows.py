"""Escalations, removal requests, role holders, the audit trail and retention."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from storage import repository as repo
from storage.errors import AlreadyDecided, NotFound, TextTooLong
from storage.models import Notification, ProcessedEvent, ReportCase

TEACHER = repo.Actor(role="staff", platform="slack", user_id="UTEACHER")
HEADTEACHER = repo.Actor(role="headteacher", platform="teams", user_id="29:head")


async def _claim_all(db):
    async with db.transaction() as session:
        return await repo.claim_notifications(session=session, worker_id="test", limit=100)


async def test_an_escalated_question_reaches_the_headteacher_and_the_answer_comes_back(db):
    async with db.transaction() as session:
        escalation = await repo.create_escalation(
            session=session, requester=TEACHER, question="Can I post the sports day photos?", situation="photos_of_pupils", verdict="ask_headteacher"
        )
    [to_head] = await _claim_all(db)
    assert (to_head.recipient_role, to_head.kind) == ("headteacher", "escalation_opened")
    assert to_head.payload["question"] == "Can I post the sports day photos?" and to_head.payload["requester_user_id"] == "UTEACHER"
    async with db.transaction() as session:
        answered = await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEADTEACHER, response="Yes, with consent.")
    assert (answered.status, answered.response, answered.resolved_by_role) == ("answered", "Yes, with consent.", "headteacher")
    [to_teacher] = await _claim_all(db)
    assert (to_teacher.recipient_platform, to_teacher.recipient_user_id, to_teacher.kind) == ("slack", "UTEACHER", "escalation_answered")
    async with db.transaction() as session:
        with pytest.raises(AlreadyDecided):
            await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEADTEACHER, response="No")
        with pytest.raises(NotFound):
            await repo.answer_escalation(session=session, escalation_id=9999, actor=HEADTEACHER, response="No")
        assert (await repo.get_escalation(session=session, escalation_id=escalation.id)).response == "Yes, with consent."
        actions = [e.action for e in await repo.list_audit_events(session=session, subject_type="escalation")]
    assert actions == ["escalation.opened", "escalation.answered"]


async def test_staff_can_pass_a_case_to_the_safeguarding_lead(db):
    async with db.transaction() as session:
        new = await repo.create_case(session=session, text="A pupil messaged me on Instagram.")
    await _claim_all(db)
    async with db.transaction() as session:
        escalation = await repo.escalate_case(session=session, code=new.code, to_role="safeguarding_lead", actor=HEADTEACHER, note="Please review")
    assert escalation.kind == "case" and escalation.requester_user_id is None
    [notification] = await _claim_all(db)
    assert notification.recipient_role == "safeguarding_lead"
    assert notification.payload["text"] == "A pupil messaged me on Instagram." and notification.payload["case_code"] == new.code


async def test_a_removal_request_is_decided_once_and_the_requester_told(db):
    async with db.transaction() as session:
        request = await repo.create_removal_request(session=session, requester=TEACHER, description="Please remove the photo of class 3 from the PTA page")
    [to_head] = await _claim_all(db)
    assert (to_head.recipient_role, to_head.kind, to_head.payload["request_id"]) == ("headteacher", "removal_requested", request.id)
    async with db.transaction() as session:
        decided = await repo.decide_removal_request(session=session, request_id=request.id, actor=HEADTEACHER, approve=True, note="Done today")
    assert (decided.status, decided.decided_by_user_id, decided.decision_note) == ("approved", "29:head", "Done today")
    async with db.transaction() as session:
        with pytest.raises(AlreadyDecided, match="already approved"):
            await repo.decide_removal_request(session=session, request_id=request.id, actor=HEADTEACHER, approve=False)
    # Nobody named as the poster and a post elsewhere: the headteacher is the one to have it taken down.
    notice, to_teacher = await _claim_all(db)
    assert (notice.kind, notice.recipient_role) == ("removal_notice", "headteacher")
    assert (to_teacher.recipient_user_id, to_teacher.payload["status"]) == ("UTEACHER", "approved")
    async with db.transaction() as session:
        assert (await repo.get_removal_request(session=session, request_id=request.id)).status == "approved"
        events = await repo.list_audit_events(session=session, subject_type="removal_request", subject_id=request.id)
    assert [(e.action, e.actor_user_id) for e in events] == [("removal_request.created", "UTEACHER"), ("removal_request.approved", "29:head")]


async def test_role_holders_per_platform(db):
    async with db.transaction() as session:
        await repo.assign_role(session=session, role="headteacher", platform="slack", user_id="UHEAD", display_name="Mrs Patel")
        await repo.assign_role(session=session, role="headteacher", platform="teams", user_id="29:head", display_name="Mrs Patel")
        await repo.assign_role(session=session, role="safeguarding_lead", platform="slack", user_id="UHEAD")
        again = await repo.assign_role(session=session, role="headteacher", platform="slack", user_id="UHEAD", display_name="Mrs A Patel")
        with pytest.raises(ValueError, match="unknown role"):
            await repo.assign_role(session=session, role="caretaker", platform="slack", user_id="U1")
    assert again.display_name == "Mrs A Patel"
    async with db.transaction() as session:
        holders = await repo.list_role_holders(session=session, role="headteacher")
        assert [(h.platform, h.user_id) for h in holders] == [("slack", "UHEAD"), ("teams", "29:head")]
        assert await repo.roles_of(session=session, platform="slack", user_id="UHEAD") == {"headteacher", "safeguarding_lead"}
        assert await repo.unassign_role(session=session, role="safeguarding_lead", platform="slack", user_id="UHEAD")
        assert not await repo.unassign_role(session=session, role="safeguarding_lead", platform="slack", user_id="UHEAD")
        assert await repo.roles_of(session=session, platform="slack", user_id="UHEAD") == {"headteacher"}


async def test_audit_export_is_csv_with_formula_cells_neutralised(db):
    async with db.transaction() as session:
        await repo.record_audit_event(session=session, actor=HEADTEACHER, action="setting.changed", subject_type="settings", detail="=HYPERLINK(x)")
        output = io.StringIO()
        assert await repo.write_audit_csv(session=session, output=output) == 1
    rows = list(csv.DictReader(io.StringIO(output.getvalue())))
    assert rows[0]["actor_user_id"] == "29:head" and rows[0]["detail"] == "'=HYPERLINK(x)"


async def test_oversized_texts_are_refused_in_every_flow(db):
    too_long = "x" * 20_001
    async with db.transaction() as session:
        with pytest.raises(TextTooLong):
            await repo.create_escalation(session=session, requester=TEACHER, question=too_long)
        with pytest.raises(TextTooLong):
            await repo.create_removal_request(session=session, requester=TEACHER, description=too_long)
        assert await repo.count_pending_notifications(session=session) == 0


async def test_purge_removes_old_closed_cases_with_their_messages_and_audit_detail(db):
    async with db.transaction() as session:
        old = await repo.create_case(session=session, text="old report")
        recent = await repo.create_case(session=session, text="recent report")
        still_open = await repo.create_case(session=session, text="open report")
        await repo.add_reporter_message(session=session, code=old.code, secret=old.secret, text="old follow-up")
        await repo.escalate_case(session=session, code=old.code, to_role="safeguarding_lead", actor=HEADTEACHER, note="old note")
        await repo.close_case(session=session, code=old.code, actor=HEADTEACHER, note="closing note")
        await repo.close_case(session=session, code=recent.code, actor=HEADTEACHER)
        await repo.claim_event(session=session, platform="slack", event_id="Ev-old")
    async with db.transaction() as session:
        stored = await session.get(ReportCase, old.case.id)
        stored.closed_on = stored.closed_on - timedelta(days=400)
        session.add(stored)
        await session.exec(update(ProcessedEvent).values(processed_at=datetime.now(UTC) - timedelta(days=8)))
    claimed = await _claim_all(db)
    async with db.transaction() as session:
        for notification in claimed:
            await repo.mark_delivered(session=session, notification_id=notification.id, worker_id="test")
        await session.exec(update(Notification).values(delivered_at=datetime.now(UTC) - timedelta(days=31)))
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=365)
    assert report.cases == 1 and report.case_messages == 1 and report.escalations == 1
    assert report.audit_details_cleared >= 3 and report.processed_events == 1
    # The old case's own notifications (opened, follow-up, passed on) go with it; the others' once delivered.
    assert report.case_notifications == 3 and report.notifications == len(claimed) - 3
    async with db.transaction() as session:
        assert await repo.get_case(session=session, code=old.code) is None
        assert await repo.get_case(session=session, code=recent.code) is not None
        assert await repo.get_case(session=session, code=still_open.code) is not None
        old_events = await repo.list_audit_events(session=session, subject_type="case", subject_id=old.case.id)
        assert old_events and all(event.detail is None for event in old_events)
        assert any(e.action == "retention.purged" for e in await repo.list_audit_events(session=session, subject_type="database"))
    async with db.transaction() as session:
        assert (await repo.purge_expired(session=session, retention_days=365)).as_dict() == dict.fromkeys(report.as_dict(), 0)
