"""The headteacher's decisions: questions answered once and reminded after school days, removals approved
once with a notice to whoever must act, confirmed once, and reminded once when overdue; the overviews."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import repository as repo
from storage.errors import AlreadyDecided, NotFound
from storage.repository import escalations

TEACHER = repo.Actor(role="staff", platform="slack", user_id="UTEACHER")
HEAD = repo.Actor(role="headteacher", platform="teams", user_id="29:head")
DEPUTY = repo.Actor(role="deputy_headteacher", platform="slack", user_id="UDEPUTY")
POSTER = repo.Poster(platform="slack", user_id="UPOSTER", name="Mr Poster")
POSTER_ACTOR = repo.Actor(role="staff", platform="slack", user_id="UPOSTER")
CLAUSES = (("4.2", "Staff must not post images of pupils on personal accounts."), ("6.1", "Ask the headteacher first."))
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
OPENED_KEYS = {
    "escalation_id", "question", "draft", "situation", "verdict", "topic", "clauses",
    "requester_platform", "requester_user_id", "requester_name", "asked_at",
}
NOTICE_KEYS = {
    "request_id", "description", "location", "reason", "clause_section", "clause_text", "due_at", "decider_role", "decider_name",
    "actor_role", "overdue",
}


async def _claim_all(db) -> list[repo.ClaimedNotification]:
    async with db.transaction() as session:
        return await repo.claim_notifications(session=session, worker_id="test", limit=100)


def _recipient(notification: repo.ClaimedNotification) -> tuple:
    return (notification.kind, notification.recipient_role, notification.recipient_platform, notification.recipient_user_id)


async def _at_once(db, *actions):
    """Run each action in a transaction of its own, all at the same time: exceptions are returned."""

    async def run(action):
        async with db.transaction() as session:
            return await action(session)

    return await asyncio.gather(*(run(action) for action in actions), return_exceptions=True)


async def _ask(db, **extra):
    async with db.transaction() as session:
        return await repo.create_escalation(
            session=session, requester=TEACHER, question="Can I accept a parent's friend request?", requester_name="Ms Teacher",
            topic="friend", **extra,
        )


async def _request(db, **extra):
    async with db.transaction() as session:
        details = {"reason": "Pupils' faces are visible", "clause_section": "4.2", "clause_text": CLAUSES[0][1], **extra}
        return await repo.create_removal_request(
            session=session, requester=TEACHER, description="A photo of Year 2 on a personal page", requester_name="Ms Teacher", **details,
        )


async def _decide(db, request_id: int, **extra):
    async with db.transaction() as session:
        return await repo.decide_removal_request(session=session, request_id=request_id, actor=HEAD, decider_name="Mrs Patel", **extra)


# --- School days ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (FRIDAY, 2, TUESDAY),
        (FRIDAY + timedelta(days=1), 2, TUESDAY),  # a Saturday
        (MONDAY, 2, MONDAY + timedelta(days=2)),
        (FRIDAY, 1, MONDAY),
        (FRIDAY, 0, FRIDAY),
        (MONDAY, 5, MONDAY + timedelta(days=7)),
    ],
)
def test_school_days_skip_weekends_and_keep_the_time_of_day(start, days, expected):
    assert repo.school_days_after(start, days) == expected


# --- Questions ------------------------------------------------------------------------------------------


async def test_a_question_with_a_draft_and_clauses_is_answered_once(db):
    escalation = await _ask(db, draft="Lovely to see you at the fair!", clauses=CLAUSES, situation="friend_request", verdict="ask_headteacher")
    assert (escalation.topic, escalation.draft, escalation.clause_pairs) == ("friend", "Lovely to see you at the fair!", list(CLAUSES))
    [opened] = await _claim_all(db)
    assert _recipient(opened) == ("escalation_opened", "headteacher", None, None)
    assert set(opened.payload) == OPENED_KEYS
    assert opened.payload["clauses"] == [list(pair) for pair in CLAUSES] and opened.payload["requester_name"] == "Ms Teacher"
    assert datetime.fromisoformat(opened.payload["asked_at"]) == escalation.created_at

    async with db.transaction() as session:
        answered = await repo.answer_escalation(
            session=session, escalation_id=escalation.id, actor=HEAD, response="Not while their child is in your class.",
            decision="dont_post", responder_name="Mrs Patel",
        )
    assert (answered.status, answered.decision, answered.resolved_by_platform, answered.resolved_by_user_id, answered.resolved_by_name) == (
        "answered", "dont_post", "teams", "29:head", "Mrs Patel",
    )
    async with db.transaction() as session:
        with pytest.raises(AlreadyDecided):
            await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=DEPUTY, decision="fine")
        with pytest.raises(NotFound):
            await repo.answer_escalation(session=session, escalation_id=9999, actor=HEAD, decision="fine")
        stored = await repo.get_escalation(session=session, escalation_id=escalation.id)
    assert (stored.decision, stored.response, stored.resolved_by_name) == ("dont_post", "Not while their child is in your class.", "Mrs Patel")
    [answer] = await _claim_all(db)
    assert _recipient(answer) == ("escalation_answered", None, "slack", "UTEACHER")
    assert answer.payload == {
        "escalation_id": escalation.id, "question": "Can I accept a parent's friend request?", "decision": "dont_post",
        "note": "Not while their child is in your class.", "responder_role": "headteacher", "responder_name": "Mrs Patel", "topic": "friend",
    }


async def test_two_answers_at_once_give_one_answer(db):
    escalation = await _ask(db)
    await _claim_all(db)
    results = await _at_once(
        db,
        lambda session: repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEAD, decision="fine"),
        lambda session: repo.answer_escalation(session=session, escalation_id=escalation.id, actor=DEPUTY, decision="talk"),
    )
    assert sorted(type(result).__name__ for result in results) == ["AlreadyDecided", "EscalationPublic"]
    assert [n.kind for n in await _claim_all(db)] == ["escalation_answered"]


async def test_a_decision_and_a_topic_must_be_known_ones(db):
    escalation = await _ask(db)
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="unknown decision"):
            await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEAD, decision="maybe")
        with pytest.raises(ValueError, match="unknown topic"):
            await repo.create_escalation(session=session, requester=TEACHER, question="?", topic="gossip")
        assert (await repo.get_escalation(session=session, escalation_id=escalation.id)).status == "open"
    assert repo.QUESTION_DECISIONS == ("fine", "dont_post", "talk")


async def test_an_unanswered_question_is_reminded_after_two_school_days_once(db, monkeypatch):
    monkeypatch.setattr(escalations, "utcnow", lambda: FRIDAY)
    escalation = await _ask(db, remind_after_school_days=2)
    not_reminded = await _ask(db)  # no reminder asked for
    monkeypatch.undo()
    assert escalation.remind_at == TUESDAY and not_reminded.remind_at is None
    await _claim_all(db)
    async with db.transaction() as session:
        assert await repo.send_escalation_reminders(session=session, now=MONDAY + timedelta(hours=13)) == 0
        assert await repo.send_escalation_reminders(session=session, now=TUESDAY) == 1
        assert await repo.send_escalation_reminders(session=session, now=TUESDAY + timedelta(days=1)) == 0
    reminder, waiting = await _claim_all(db)
    assert _recipient(reminder) == ("escalation_reminder", "headteacher", None, None)
    assert set(reminder.payload) == OPENED_KEYS | {"reminder"} and reminder.payload["reminder"] is True
    assert _recipient(waiting) == ("escalation_waiting", None, "slack", "UTEACHER")
    assert waiting.payload == {"escalation_id": escalation.id, "question": escalation.question, "asked_at": FRIDAY.isoformat()}
    async with db.transaction() as session:
        assert (await repo.get_escalation(session=session, escalation_id=escalation.id)).reminded


async def test_reminders_run_by_two_sessions_at_once_are_sent_once(db, monkeypatch):
    monkeypatch.setattr(escalations, "utcnow", lambda: FRIDAY)
    for _ in range(3):
        await _ask(db, remind_after_school_days=2)
    monkeypatch.undo()
    await _claim_all(db)
    results = await _at_once(
        db,
        lambda session: repo.send_escalation_reminders(session=session, now=TUESDAY),
        lambda session: repo.send_escalation_reminders(session=session, now=TUESDAY),
    )
    assert sorted(results) == [0, 3]
    kinds = sorted(n.kind for n in await _claim_all(db))
    assert kinds == ["escalation_reminder"] * 3 + ["escalation_waiting"] * 3


async def test_an_answered_question_is_not_reminded(db, monkeypatch):
    monkeypatch.setattr(escalations, "utcnow", lambda: FRIDAY)
    escalation = await _ask(db, remind_after_school_days=2)
    monkeypatch.undo()
    async with db.transaction() as session:
        await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEAD, decision="fine")
        assert await repo.send_escalation_reminders(session=session, now=TUESDAY) == 0


async def test_open_questions_and_a_requesters_questions_are_listed(db):
    first = await _ask(db)
    second = await _ask(db)
    async with db.transaction() as session:
        mine = await repo.create_escalation(session=session, requester=DEPUTY, question="Mine")
        await repo.answer_escalation(session=session, escalation_id=second.id, actor=HEAD, decision="fine")
        new = await repo.create_case(session=session, text="A report")
        await repo.escalate_case(session=session, code=new.code, to_role="safeguarding_lead", actor=HEAD)  # not a question
    async with db.transaction() as session:
        assert [e.id for e in await repo.list_open_escalations(session=session)] == [first.id, mine.id]
        assert [e.id for e in await repo.list_open_escalations(session=session, limit=1)] == [first.id]
        assert await repo.count_open_escalations(session=session) == 2
        by_teacher = await repo.list_escalations_by_requester(session=session, platform="slack", user_id="UTEACHER")
        assert [e.id for e in by_teacher] == [second.id, first.id]
        assert await repo.list_escalations_by_requester(session=session, platform="teams", user_id="UTEACHER") == []


# --- Removals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "poster", "accounts_held", "recipient", "acting"),
    [
        ("colleague", POSTER, False, ("removal_notice", None, "slack", "UPOSTER"), "Mr Poster"),
        ("school_account", POSTER, True, ("removal_notice", None, "slack", "UPOSTER"), "Mr Poster"),
        ("school_account", None, True, ("removal_notice", "school_accounts", None, None), "school_accounts"),
        ("school_account", None, False, ("removal_notice", "headteacher", None, None), "headteacher"),
        ("parent", repo.Poster(platform=None, user_id=None, name="A parent"), False, ("removal_notice", "headteacher", None, None), "headteacher"),
        ("elsewhere", repo.Poster(platform="slack", user_id=None, name="Half known"), True, ("removal_notice", "headteacher", None, None), "headteacher"),
    ],
)
async def test_an_approved_removal_sends_one_notice_to_whoever_must_act(db, location, poster, accounts_held, recipient, acting):
    if accounts_held:
        async with db.transaction() as session:
            await repo.assign_role(session=session, role="school_accounts", platform="slack", user_id="UOFFICE", display_name="Office")
    request = await _request(db, location=location, poster=poster)
    [requested] = await _claim_all(db)
    assert _recipient(requested) == ("removal_requested", "headteacher", None, None)
    assert requested.payload == {
        "request_id": request.id, "description": "A photo of Year 2 on a personal page", "location": location,
        "reason": "Pupils' faces are visible", "clause_section": "4.2", "clause_text": CLAUSES[0][1],
        "poster_name": poster.name if poster else "", "poster_platform": request.poster_platform,
        "poster_user_id": request.poster_user_id, "requester_platform": "slack", "requester_user_id": "UTEACHER",
        "requester_name": "Ms Teacher", "requested_at": request.created_at.isoformat(),
    }
    decided = await _decide(db, request.id, approve=True, deadline_hours=48)
    assert decided.status == "approved" and decided.decided_by_name == "Mrs Patel"
    assert decided.due_at == decided.decided_at + timedelta(hours=48)
    assert decided.actor_role == (None if acting == "Mr Poster" else acting)
    notice, told = await _claim_all(db)
    assert _recipient(notice) == recipient
    assert set(notice.payload) == NOTICE_KEYS and notice.payload["overdue"] is False
    assert (notice.payload["decider_role"], notice.payload["decider_name"], notice.payload["reason"]) == (
        "headteacher", "Mrs Patel", "Pupils' faces are visible",
    )
    assert _recipient(told) == ("removal_decided", None, "slack", "UTEACHER")
    assert told.payload == {
        "request_id": request.id, "status": "approved", "note": "", "decider_role": "headteacher", "decider_name": "Mrs Patel",
        "description": "A photo of Year 2 on a personal page", "due_at": decided.due_at.isoformat(), "acting": acting,
    }


async def test_a_rejected_removal_only_tells_the_requester(db):
    request = await _request(db, poster=POSTER)
    await _claim_all(db)
    rejected = await _decide(db, request.id, approve=False, note="It is the PTA's page and they have consent.")
    assert (rejected.status, rejected.due_at, rejected.actor_role) == ("rejected", None, None)
    [told] = await _claim_all(db)
    assert _recipient(told) == ("removal_decided", None, "slack", "UTEACHER")
    assert (told.payload["status"], told.payload["due_at"], told.payload["acting"]) == ("rejected", None, "")
    assert told.payload["note"] == "It is the PTA's page and they have consent."
    with pytest.raises(AlreadyDecided, match="already rejected"):
        await _decide(db, request.id, approve=True)
    with pytest.raises(NotFound):
        await _decide(db, 9999, approve=True)
    with pytest.raises(ValueError, match="unknown location"):
        await _request(db, location="the moon")


async def test_two_approvals_at_once_give_one_decision_and_one_notice(db):
    request = await _request(db, poster=POSTER)
    await _claim_all(db)
    results = await _at_once(
        db,
        lambda session: repo.decide_removal_request(session=session, request_id=request.id, actor=HEAD, approve=True),
        lambda session: repo.decide_removal_request(session=session, request_id=request.id, actor=DEPUTY, approve=True),
    )
    assert sorted(type(result).__name__ for result in results) == ["AlreadyDecided", "RemovalRequestPublic"]
    assert sorted(n.kind for n in await _claim_all(db)) == ["removal_decided", "removal_notice"]
    async with db.transaction() as session:
        events = await repo.list_audit_events(session=session, subject_type="removal_request", subject_id=request.id)
    assert [e.action for e in events] == ["removal_request.created", "removal_request.approved"]


async def test_a_removal_is_confirmed_once(db):
    pending = await _request(db)
    request = await _request(db, poster=POSTER)
    await _decide(db, request.id, approve=True)
    await _claim_all(db)
    async with db.transaction() as session:
        removed = await repo.confirm_removed(session=session, request_id=request.id, actor=POSTER_ACTOR, actor_name="Mr Poster")
    assert (removed.status, removed.removed_by_platform, removed.removed_by_user_id, removed.removed_by_name) == (
        "removed", "slack", "UPOSTER", "Mr Poster",
    )
    async with db.transaction() as session:
        with pytest.raises(AlreadyDecided, match="already removed"):
            await repo.confirm_removed(session=session, request_id=request.id, actor=POSTER_ACTOR)
        with pytest.raises(AlreadyDecided, match="pending, not approved"):
            await repo.confirm_removed(session=session, request_id=pending.id, actor=HEAD)
        with pytest.raises(NotFound):
            await repo.confirm_removed(session=session, request_id=9999, actor=HEAD)
        with pytest.raises(AlreadyDecided):
            await repo.decide_removal_request(session=session, request_id=request.id, actor=HEAD, approve=False)
    to_requester, to_head = await _claim_all(db)
    assert _recipient(to_requester) == ("removal_done", None, "slack", "UTEACHER")
    assert _recipient(to_head) == ("removal_done", "headteacher", None, None)
    assert to_requester.payload == {
        "request_id": request.id, "description": request.description, "removed_by_name": "Mr Poster", "removed_at": removed.removed_at.isoformat(),
    }


async def test_an_overdue_removal_is_reminded_once_to_whoever_acts_and_to_the_headteacher(db):
    request = await _request(db, poster=POSTER)
    decided = await _decide(db, request.id, approve=True, deadline_hours=2)
    confirmed = await _request(db, poster=POSTER)
    await _decide(db, confirmed.id, approve=True, deadline_hours=2)
    async with db.transaction() as session:
        await repo.confirm_removed(session=session, request_id=confirmed.id, actor=POSTER_ACTOR)
    await _claim_all(db)
    async with db.transaction() as session:
        assert await repo.send_removal_reminders(session=session, now=decided.due_at - timedelta(minutes=1)) == 0
    results = await _at_once(
        db,
        lambda session: repo.send_removal_reminders(session=session, now=decided.due_at),
        lambda session: repo.send_removal_reminders(session=session, now=decided.due_at),
    )
    assert sorted(results) == [0, 1]
    async with db.transaction() as session:
        assert await repo.send_removal_reminders(session=session, now=decided.due_at + timedelta(days=3)) == 0
    to_poster, to_head = await _claim_all(db)
    assert _recipient(to_poster) == ("removal_overdue", None, "slack", "UPOSTER")
    assert set(to_poster.payload) == NOTICE_KEYS and to_poster.payload["overdue"] is True
    assert _recipient(to_head) == ("removal_overdue", "headteacher", None, None)
    assert to_head.payload == {**to_poster.payload, "for_decider": True, "acting": "Mr Poster"}


async def test_an_overdue_removal_the_headteacher_must_act_on_reaches_them_once(db):
    request = await _request(db, location="parent")
    decided = await _decide(db, request.id, approve=True, deadline_hours=1)
    await _claim_all(db)
    async with db.transaction() as session:
        assert await repo.send_removal_reminders(session=session, now=decided.due_at) == 1
    [overdue] = await _claim_all(db)
    assert _recipient(overdue) == ("removal_overdue", "headteacher", None, None) and overdue.payload["overdue"] is True


async def test_a_decider_issues_a_removal_notice_directly(db):
    async with db.transaction() as session:
        await repo.assign_role(session=session, role="school_accounts", platform="teams", user_id="29:office")
        notice = await repo.issue_removal_notice(
            session=session, decider=DEPUTY, decider_name="Mr Deputy", description="The sports day video on the school page",
            location="school_account", reason="A pupil without photo consent is in it", clause_section="4.1", clause_text="Consent first.",
            deadline_hours=4,
        )
    assert (notice.origin, notice.status, notice.actor_role) == ("notice", "approved", "school_accounts")
    assert (notice.requester_user_id, notice.requester_name, notice.decided_by_user_id, notice.decided_by_name) == (
        "UDEPUTY", "Mr Deputy", "UDEPUTY", "Mr Deputy",
    )
    assert notice.due_at == notice.decided_at + timedelta(hours=4)
    [sent] = await _claim_all(db)  # no "removal_decided": the decider knows
    assert _recipient(sent) == ("removal_notice", "school_accounts", None, None)
    assert (sent.payload["decider_role"], sent.payload["decider_name"], sent.payload["reason"]) == (
        "deputy_headteacher", "Mr Deputy", "A pupil without photo consent is in it",
    )
    async with db.transaction() as session:
        await repo.confirm_removed(session=session, request_id=notice.id, actor=repo.Actor(role="school_accounts", platform="teams", user_id="29:office"))
        events = await repo.list_audit_events(session=session, subject_type="removal_request", subject_id=notice.id)
    assert [e.action for e in events] == ["removal_notice.issued", "removal_request.removed"]
    # The deputy asked for it, so hears it was done; so does the headteacher.
    assert [_recipient(n) for n in await _claim_all(db)] == [
        ("removal_done", None, "slack", "UDEPUTY"), ("removal_done", "headteacher", None, None),
    ]


async def test_the_headteacher_confirming_their_own_notice_is_not_told_about_it(db):
    async with db.transaction() as session:
        notice = await repo.issue_removal_notice(session=session, decider=HEAD, description="A post on a parents' group", location="parent")
        await repo.confirm_removed(session=session, request_id=notice.id, actor=HEAD)
    assert [_recipient(n) for n in await _claim_all(db)] == [("removal_notice", "headteacher", None, None)]


async def test_removal_lists(db):
    async with db.transaction() as session:
        await repo.assign_role(session=session, role="school_accounts", platform="slack", user_id="UOFFICE")
    pending = await _request(db)
    poster_request = await _request(db, poster=POSTER)
    accounts_request = await _request(db, location="school_account")
    head_request = await _request(db, location="parent")
    rejected = await _request(db)
    for approved in (poster_request, accounts_request, head_request):
        await _decide(db, approved.id, approve=True)
    await _decide(db, rejected.id, approve=False)
    async with db.transaction() as session:
        notice = await repo.issue_removal_notice(session=session, decider=HEAD, description="Another", poster=POSTER)
        assert [r.id for r in await repo.list_removal_requests(session=session, statuses=["pending"])] == [pending.id]
        approved_ids = [poster_request.id, accounts_request.id, head_request.id, notice.id]
        assert [r.id for r in await repo.list_removal_requests(session=session, statuses=["approved", "rejected"])] == sorted(
            approved_ids + [rejected.id]
        )
        assert [r.id for r in await repo.list_removal_requests(session=session, statuses=["approved"], limit=2)] == approved_ids[:2]
        assert await repo.count_removal_requests(session=session, statuses=["approved"]) == 4
        assert await repo.count_removal_requests(session=session, statuses=["removed"]) == 0
        for_poster = await repo.list_removal_notices_for(session=session, platform="slack", user_id="UPOSTER", roles=set())
        assert [r.id for r in for_poster] == [poster_request.id, notice.id]
        for_office = await repo.list_removal_notices_for(session=session, platform="slack", user_id="UOFFICE", roles={"school_accounts"})
        assert [r.id for r in for_office] == [accounts_request.id]
        for_head = await repo.list_removal_notices_for(session=session, platform="teams", user_id="29:head", roles={"headteacher"})
        assert [r.id for r in for_head] == [head_request.id]
        mine = await repo.list_removals_by_requester(session=session, platform="slack", user_id="UTEACHER", limit=3)
        assert [r.id for r in mine] == [rejected.id, head_request.id, accounts_request.id]
        assert [r.origin for r in await repo.list_removals_by_requester(session=session, platform="teams", user_id="29:head")] == ["notice"]


# --- Overviews, roles -----------------------------------------------------------------------------------


async def test_open_cases_go_to_their_roles_and_never_show_the_headteacher_a_case_about_them(db):
    async with db.transaction() as session:
        plain = await repo.create_case(session=session, text="one")
        about_head = await repo.create_case(session=session, text="two", about_headteacher=True)
        safeguarding = await repo.create_case(session=session, text="three", safeguarding=True)
        both = await repo.create_case(session=session, text="four", about_headteacher=True, safeguarding=True)
        closed = await repo.create_case(session=session, text="five")
        await repo.close_case(session=session, code=closed.code, actor=HEAD)
    expected = {
        frozenset({"headteacher"}): [plain, safeguarding],
        frozenset({"chair_of_governors"}): [about_head, both],
        frozenset({"safeguarding_lead"}): [safeguarding, both],
        frozenset({"headteacher", "safeguarding_lead"}): [plain, safeguarding],
        frozenset({"headteacher", "chair_of_governors"}): [plain, safeguarding],
        frozenset({"deputy_headteacher"}): [],
        frozenset(): [],
    }
    async with db.transaction() as session:
        for roles, cases in expected.items():
            listed = await repo.list_open_cases(session=session, roles=set(roles))
            assert [case.code for case in listed] == [new.code for new in cases], roles
            assert await repo.count_open_cases(session=session, roles=set(roles)) == len(cases)
        assert len(await repo.list_open_cases(session=session, roles={"safeguarding_lead"}, limit=1)) == 1


async def test_role_names_and_display_names(db):
    assert set(repo.DECIDER_ROLES) == {"headteacher", "deputy_headteacher"} <= set(repo.ROLES)
    assert set(repo.REPORT_ROLES) == {"headteacher", "chair_of_governors", "safeguarding_lead"}
    assert {"school_accounts", "deputy_headteacher"} <= set(repo.ROLES)
    async with db.transaction() as session:
        await repo.assign_role(session=session, role="safeguarding_lead", platform="slack", user_id="UDEPUTY")
        await repo.assign_role(session=session, role="deputy_headteacher", platform="slack", user_id="UDEPUTY", display_name="Mr Deputy")
        assert await repo.display_name_of(session=session, platform="slack", user_id="UDEPUTY") == "Mr Deputy"
        assert await repo.display_name_of(session=session, platform="teams", user_id="UDEPUTY") == ""


def test_the_command_line_offers_every_role_without_loading_the_database_code():
    probe = (
        "import argparse, sys\n"
        "from storage import commands\n"
        "parser = argparse.ArgumentParser(); commands.register(parser.add_subparsers())\n"
        "for name in ('school_accounts', 'deputy_headteacher'):\n"
        "    args = parser.parse_args(['roles', 'assign', name, '--platform', 'slack', '--user', 'U1'])\n"
        "    assert args.role == name\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, cwd=Path(__file__).parents[2]
    )
    assert result.stdout.strip() == "False"


# --- Audit, long texts ----------------------------------------------------------------------------------


async def test_every_step_is_audited_without_the_notes(db, monkeypatch):
    notes = ["NOTE-ANSWER keep it private", "NOTE-APPROVE ask them kindly", "NOTE-REJECT it is fine", "DRAFT-TEXT hello", "REASON-TEXT faces"]
    monkeypatch.setattr(escalations, "utcnow", lambda: FRIDAY)
    answered = await _ask(db, draft=notes[3])
    reminded = await _ask(db, remind_after_school_days=2)
    monkeypatch.undo()
    async with db.transaction() as session:
        await repo.answer_escalation(session=session, escalation_id=answered.id, actor=HEAD, decision="talk", response=notes[0])
        await repo.send_escalation_reminders(session=session, now=TUESDAY)
    approved = await _request(db, poster=POSTER, reason=notes[4])
    rejected = await _request(db)
    decided = await _decide(db, approved.id, approve=True, note=notes[1])
    await _decide(db, rejected.id, approve=False, note=notes[2])
    async with db.transaction() as session:
        notice = await repo.issue_removal_notice(session=session, decider=HEAD, description="x", reason=notes[4])
        await repo.confirm_removed(session=session, request_id=notice.id, actor=HEAD)
        await repo.send_removal_reminders(session=session, now=decided.due_at)
        output = io.StringIO()
        await repo.write_audit_csv(session=session, output=output)
    rows = list(csv.DictReader(io.StringIO(output.getvalue())))
    steps = [(row["action"], row["subject_id"], row["detail"]) for row in rows]
    for step in [
        ("escalation.opened", str(answered.id), "to headteacher"),
        ("escalation.answered", str(answered.id), "talk, with a note"),
        ("escalation.reminder", str(reminded.id), "to headteacher"),
        ("removal_request.created", str(approved.id), "to headteacher"),
        ("removal_request.approved", str(approved.id), "with a note"),
        ("removal_request.rejected", str(rejected.id), "with a note"),
        ("removal_notice.issued", str(notice.id), "to headteacher"),
        ("removal_request.removed", str(notice.id), ""),
        ("removal_request.overdue", str(approved.id), "to the poster"),
    ]:
        assert step in steps
    assert not any(note.split()[0] in output.getvalue() for note in notes)
    assert "Mr Poster" not in output.getvalue()


async def test_texts_of_5000_characters_are_kept_whole(db):
    long = "".join(chr(ord("a") + index % 26) for index in range(4_999)) + "Z"
    escalation = await _ask(db, draft=long, clauses=[("7", long)])
    async with db.transaction() as session:
        await repo.answer_escalation(session=session, escalation_id=escalation.id, actor=HEAD, response=long, decision="fine")
        stored = await repo.get_escalation(session=session, escalation_id=escalation.id)
        request = await repo.create_removal_request(
            session=session, requester=TEACHER, description=long, reason=long, clause_text=long, poster=POSTER
        )
        decided = await repo.decide_removal_request(session=session, request_id=request.id, actor=HEAD, approve=True, note=long)
    assert (stored.draft, stored.response, stored.clause_pairs) == (long, long, [("7", long)])
    assert (decided.description, decided.reason, decided.clause_text, decided.decision_note) == (long, long, long, long)
    payloads = {n.kind: n.payload for n in await _claim_all(db)}
    assert payloads["escalation_opened"]["draft"] == long and payloads["escalation_answered"]["note"] == long
    assert payloads["removal_notice"]["reason"] == long and payloads["removal_decided"]["note"] == long

