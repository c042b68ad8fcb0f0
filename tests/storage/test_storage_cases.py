"""Anonymous cases: codes, secrets, wrong-secret lockout, follow-ups, staff replies, closing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storage import repository as repo
from storage import secrets_hashing
from storage.errors import CaseClosed, NotFound, TextTooLong
from storage.models import ReportCase
from storage.repository import cases

HEADTEACHER = repo.Actor(role="headteacher", platform="slack", user_id="UHEAD")
CODE_PATTERN = re.compile(r"^[ACDEFGHJKMNPQRTVWXY2345679]{4}-[ACDEFGHJKMNPQRTVWXY2345679]{4}$")


async def _new_case(db, text="Someone posted my photo with rude comments.", **kwargs):
    async with db.transaction() as session:
        return await repo.create_case(session=session, text=text, **kwargs)


async def test_a_case_has_a_readable_code_and_a_secret_shown_once(db):
    new = await _new_case(db)
    assert CODE_PATTERN.match(new.code)
    assert len(new.secret) == 19 and secrets_hashing.normalise_secret(new.secret) == new.secret
    async with db.transaction() as session:
        stored = await session.get(ReportCase, new.case.id)
    assert new.secret not in stored.secret_hash and stored.secret_hash.startswith("scrypt$")
    assert stored.text_encrypted.startswith("v1:") and "photo" not in stored.text_encrypted


async def test_the_reporter_opens_the_case_with_code_and_secret_however_typed(db):
    new = await _new_case(db)
    async with db.transaction() as session:
        view = await repo.open_case(session=session, code=new.code.lower().replace("-", " "), secret=new.secret.lower())
    assert view.text == "Someone posted my photo with rude comments." and view.case.code == new.code


@pytest.mark.parametrize("kind", ["wrong secret", "unknown code", "malformed code", "malformed secret", "empty"])
async def test_every_bad_code_or_secret_gets_the_same_answer(db, kind):
    new = await _new_case(db)
    code, secret = {
        "wrong secret": (new.code, secrets_hashing.new_case_secret()),
        "unknown code": (secrets_hashing.new_case_code(), new.secret),
        "malformed code": ("O0O0-1111'; drop table report_case;--", new.secret),
        "malformed secret": (new.code, "x" * 5000),
        "empty": ("", ""),
    }[kind]
    async with db.transaction() as session:
        assert await repo.open_case(session=session, code=code, secret=secret) is None
        assert await repo.add_reporter_message(session=session, code=code, secret=secret, text="hello") is None


async def test_wrong_secrets_are_counted_and_lock_the_case_without_recording_who(db):
    new = await _new_case(db)
    for _ in range(cases.FREE_ATTEMPTS):
        async with db.transaction() as session:
            assert await repo.open_case(session=session, code=new.code, secret=secrets_hashing.new_case_secret()) is None
    async with db.transaction() as session:
        stored = await session.get(ReportCase, new.case.id)
        assert stored.failed_attempts == cases.FREE_ATTEMPTS and stored.locked_until is not None
        # Locked: even the right secret is refused, with the same answer.
        assert await repo.open_case(session=session, code=new.code, secret=new.secret) is None
        events = await repo.list_audit_events(session=session, subject_type="case", subject_id=new.case.id)
    wrong = [event for event in events if event.action == "case.wrong_secret"]
    assert len(wrong) == cases.FREE_ATTEMPTS
    assert all(event.actor_role == "unidentified" and event.actor_user_id is None and event.actor_platform is None for event in wrong)
    # Once the lock has passed, the right secret works and the count starts again.
    async with db.transaction() as session:
        stored = await session.get(ReportCase, new.case.id)
        stored.locked_until = stored.locked_until - timedelta(days=2)
        session.add(stored)
    async with db.transaction() as session:
        assert await repo.open_case(session=session, code=new.code, secret=new.secret) is not None
    async with db.transaction() as session:
        stored = await session.get(ReportCase, new.case.id)
    assert stored.failed_attempts == 0 and stored.locked_until is None


async def test_follow_ups_and_staff_replies_form_a_thread(db):
    new = await _new_case(db)
    async with db.transaction() as session:
        view = await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text="It happened again today.")
        assert [message.text for message in view.messages] == ["It happened again today."]
        await repo.add_staff_reply(session=session, code=new.code, text="Thank you, I am looking into it.", actor=HEADTEACHER)
    async with db.transaction() as session:
        view = await repo.open_case(session=session, code=new.code, secret=new.secret)
    assert [(m.author, m.author_role, m.text) for m in view.messages] == [
        ("reporter", None, "It happened again today."),
        ("staff", "headteacher", "Thank you, I am looking into it."),
    ]


async def test_a_new_case_notifies_the_headteacher_in_the_same_transaction(db):
    new = await _new_case(db)
    async with db.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="w")
    assert [(n.recipient_role, n.kind, n.payload["case_code"]) for n in claimed] == [("headteacher", "case_opened", new.code)]


async def test_a_case_about_the_headteacher_goes_to_the_chair_and_safeguarding_adds_the_dsl(db):
    new = await _new_case(db, about_headteacher=True, safeguarding=True)
    assert new.case.routed_to_role == "chair_of_governors"
    async with db.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="w")
    assert sorted(n.recipient_role for n in claimed) == ["chair_of_governors", "safeguarding_lead"]


async def test_a_failed_transaction_leaves_no_case_and_no_notification(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await repo.create_case(session=session, text="report")
            raise RuntimeError("boom")
    async with db.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0


async def test_closing_a_case_is_audited_and_stops_new_messages(db):
    new = await _new_case(db)
    async with db.transaction() as session:
        closed = await repo.close_case(session=session, code=new.code, actor=HEADTEACHER, note="resolved with the parent")
    assert closed.status == "closed" and closed.closed_on is not None
    async with db.transaction() as session:
        with pytest.raises(CaseClosed, match="closed"):
            await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text="more")
        events = await repo.list_audit_events(session=session, subject_type="case", subject_id=new.case.id)
    assert [event.action for event in events] == ["case.opened", "case.closed"]
    opened, closed_event = events
    assert opened.actor_role == "anonymous_reporter" and opened.actor_user_id is None
    assert opened.occurred_at.time().isoformat() == "00:00:00"  # the reporter's time is kept to the day
    assert (closed_event.actor_role, closed_event.actor_platform, closed_event.actor_user_id) == ("headteacher", "slack", "UHEAD")


async def test_staff_cannot_reply_to_a_case_that_does_not_exist(db):
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await repo.add_staff_reply(session=session, code="AAAA-AAAA", text="hi", actor=HEADTEACHER)


@pytest.mark.parametrize("operation", ["create", "follow_up", "reply"])
async def test_oversized_texts_are_refused_before_anything_is_written(db, operation):
    new = await _new_case(db)
    too_long = "x" * (repo.MAX_TEXT_CHARS + 1)
    async with db.transaction() as session:
        with pytest.raises(TextTooLong, match="20,001 characters long; the limit is 20,000"):
            if operation == "create":
                await repo.create_case(session=session, text=too_long)
            elif operation == "follow_up":
                await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text=too_long)
            else:
                await repo.add_staff_reply(session=session, code=new.code, text=too_long, actor=HEADTEACHER)
    async with db.transaction() as session:
        view = await repo.get_case(session=session, code=new.code)
        assert view.messages == [] and await repo.count_pending_notifications(session=session) == 1


async def test_a_text_of_exactly_the_limit_is_accepted(db):
    new = await _new_case(db, text="y" * repo.MAX_TEXT_CHARS)
    async with db.transaction() as session:
        assert len((await repo.get_case(session=session, code=new.code)).text) == repo.MAX_TEXT_CHARS


def test_the_case_table_has_no_column_that_could_identify_the_reporter():
    columns = set(ReportCase.__table__.columns.keys())
    assert columns == {
        "id", "code", "secret_hash", "text_encrypted", "status", "about_headteacher", "routed_to_role",
        "opened_on", "closed_on", "failed_attempts", "locked_until", "close_note_encrypted",
        # What the report is about and its deadlines, by the day: nothing about who made it.
        "kind", "safeguarding", "urgent", "acknowledged_on", "last_feedback_on", "acknowledge_reminders",
        "feedback_reminded", "details_encrypted",
    }
    from storage.models import CaseEvidence, CaseMessage

    assert set(CaseMessage.__table__.columns.keys()) == {"id", "case_id", "author", "author_role", "sent_on", "text_encrypted"}
    assert set(CaseEvidence.__table__.columns.keys()) == {"id", "case_id", "mimetype", "size", "added_on", "content_encrypted"}
    for day in ("opened_on", "closed_on", "acknowledged_on", "last_feedback_on"):
        assert str(ReportCase.__table__.c[day].type) == "DATE"


async def test_a_tampered_report_does_not_decrypt(db):
    from storage.crypto import DecryptionError

    new = await _new_case(db)
    async with db.transaction() as session:
        stored = await session.get(ReportCase, new.case.id)
        stored.text_encrypted = stored.text_encrypted[:-6] + ("AAAAAA" if not stored.text_encrypted.endswith("AAAAAA") else "BBBBBB")
        session.add(stored)
    async with db.transaction() as session:
        with pytest.raises(DecryptionError):
            await repo.get_case(session=session, code=new.code)


def test_a_secret_hashed_with_earlier_parameters_still_verifies():
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"ACDE-FGHJ-KMNP-QRTV", salt=salt, n=2**14, r=8, p=1, maxmem=64 * 1024 * 1024, dklen=32)
    stored = f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert secrets_hashing.verify_secret("ACDE-FGHJ-KMNP-QRTV", stored)
    assert not secrets_hashing.verify_secret("ACDE-FGHJ-KMNP-QRTW", stored)


async def test_a_burst_of_reports_hashes_on_a_bounded_number_of_threads(db, monkeypatch):
    # Each scrypt call holds 4 MB, kept afterwards by the thread's malloc arena: the threads must not grow
    # with the number of reports arriving at once.
    import asyncio
    import threading

    hashed_on: set[str] = set()
    real_scrypt = secrets_hashing._scrypt

    def recording_scrypt(*arguments):
        hashed_on.add(threading.current_thread().name)
        return real_scrypt(*arguments)

    monkeypatch.setattr(secrets_hashing, "_scrypt", recording_scrypt)
    created = await asyncio.gather(*(_new_case(db, text=f"report {number}") for number in range(6)))
    stored = await asyncio.gather(*(secrets_hashing.hash_secret_off_loop(new.secret) for new in created))
    assert await asyncio.gather(*(secrets_hashing.verify_secret_off_loop(new.secret, hashed) for new, hashed in zip(created, stored)))
    assert 1 <= len(hashed_on) <= secrets_hashing.HASHING_THREADS
    assert all(name.startswith("policybot-scrypt") for name in hashed_on)
