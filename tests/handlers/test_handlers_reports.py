"""The report flows through the conversation core with a real SQLite database: making a report, following
it up, and the buttons of whoever handles it. Platform adapters have their own end-to-end tests."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from handler_helpers import count, signed_click, signed_submission
from PIL import Image
from sqlmodel import select

from bot.config import Settings
from handlers import actions
from handlers import report_texts as texts
from handlers.core import ConversationCore
from handlers.flow import RoleNames
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingFile, IncomingMessage
from policy_kb.advisor import Advisor
from storage import repository as repo
from storage.models import CaseEvidence, CaseReporter, ConversationReference, Notification, ProcessedEvent, ReportCase

REPORTER = ConversationRef(platform="slack", conversation_id="D0REPORTER", user_id="U0REPORTER", user_name="Jo Bloggs")
HEAD = ConversationRef(platform="slack", conversation_id="D0HEAD", user_id="U0HEAD")
CHAIR = ConversationRef(platform="slack", conversation_id="D0CHAIR", user_id="U0CHAIR")
CODE = re.compile(r"Case code: ([A-Z0-9]{4}-[A-Z0-9]{4})")
SECRET = re.compile(r"Secret: ([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})")


@pytest.fixture
async def core(database):
    # The real advisor: the reporter is shown the loaded policy's own support section.
    advisor = Advisor.load(settings=Settings(_env_file=None))
    return ConversationCore(advisor=advisor, database=database, headteacher_name="Mrs Patel",
                            names=RoleNames(headteacher="Mrs Patel"), notify_jitter_seconds=0)


def message(who=REPORTER, *, text="", click=None, form=None, event_id="", form_here=True, files=()):
    return IncomingMessage(conversation=who, is_direct=True, text=text, click=click, form=form, event_id=event_id,
                           form_here=form_here, files=files)


def submission(core, form_id=actions.REPORT_FORM, *, files=(), metadata="", **values):
    return signed_submission(core, form_id, files=files, metadata=metadata, **values)


def filled(form, **values):
    """The bot's own form sent back (its metadata is signed already)."""
    return FormSubmission(form_id=form.form_id, values=values, private_metadata=form.private_metadata)


async def assign(database, role, who):
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=role, platform=who.platform, user_id=who.user_id)


async def report(core, *, event_id="submit-1", **values):
    values.setdefault("what", "A parent keeps posting insults about me on Facebook.")
    values.setdefault("kind", "harassment_me")
    [reply] = await core.handle(message(form=submission(core, **values), event_id=event_id))
    return reply


async def test_what_a_report_is_about_is_chosen_never_guessed(core, database):
    [reply] = await core.handle(message(text="report"))
    assert next(f for f in reply.form.fields if f.field_id == "kind").initial == ""
    refused = await report(core, kind="")
    assert refused.form_errors == (("kind", texts.KIND_MISSING),) and refused.in_form
    assert await notifications(database) == []


def code_and_secret(reply):
    return CODE.search(reply.text).group(1), SECRET.search(reply.text).group(1)


async def notifications(database):
    async with database.transaction() as session:
        return (await session.exec(select(Notification))).all()


async def test_report_alone_opens_the_private_form(core):
    [reply] = await core.handle(message(text="report"))
    assert reply.form.form_id == actions.REPORT_FORM and reply.private
    kinds = {field.field_id: field.kind for field in reply.form.fields}
    assert kinds["what"] == "text" and kinds["kind"] == "choice" and kinds["about_headteacher"] == "toggle"
    assert kinds["evidence"] == "files"
    assert next(f for f in reply.form.fields if f.field_id == "identity").initial == "anonymous"
    # Where a form cannot open (a DM message on Slack), a button opens it.
    [button] = await core.handle(message(text="Report.", form_here=False))
    assert button.buttons[0].action_id == actions.START_REPORT


async def test_an_anonymous_report_gives_code_and_secret_in_the_form_and_keeps_nothing_of_the_reporter(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    reply = await report(core)
    assert reply.in_form and reply.private
    code, secret = code_and_secret(reply)
    assert reply.quotes and all(q.section == "Support for those affected or involved" for q in reply.quotes)
    assert [b.action_id for b in reply.buttons] == [actions.NOTED_SECRET]
    [row] = await notifications(database)
    assert row.recipient_role == repo.HEADTEACHER
    assert await count(database, CaseReporter) == 0 and await count(database, ConversationReference) == 0
    async with database.transaction() as session:
        [event] = (await session.exec(select(ProcessedEvent))).all()
    assert (event.processed_at.hour, event.processed_at.minute, event.processed_at.second) == (0, 0, 0)
    # The same submission delivered again makes no second case.
    assert await core.handle(message(form=submission(core, what="again", kind="other"), event_id="submit-1")) == []
    assert await count(database, ReportCase) == 1
    # "I've noted it" redraws the confirmation without the secret.
    [noted] = await core.handle(message(click=ButtonClick(action_id=actions.NOTED_SECRET, value=reply.buttons[0].value, message_id="card-1")))
    assert code in noted.text and secret not in noted.text and noted.replaces_message_id == "card-1"


async def test_an_empty_report_is_refused_inside_the_form_and_nothing_is_stored(core, database):
    reply = await report(core, what="   ", where="Facebook")
    assert reply.form_errors == (("what", texts.WHAT_HAPPENED_MISSING),)
    assert next(f for f in reply.form.fields if f.field_id == "where").initial == "Facebook"
    assert await count(database, ReportCase) == 0


async def test_a_report_about_the_headteacher_goes_to_the_chair_and_the_headteacher_cannot_open_it(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    await assign(database, repo.CHAIR_OF_GOVERNORS, CHAIR)
    reply = await report(core, about_headteacher="true")
    code, _ = code_and_secret(reply)
    assert [n.recipient_role for n in await notifications(database)] == [repo.CHAIR_OF_GOVERNORS]
    value = f'{{"case": "{code}"}}'
    for action in (actions.CASE_READ, actions.CASE_ACKNOWLEDGE, actions.CASE_CLOSE, actions.CASE_REPLY):
        [refused] = await core.handle(message(HEAD, click=signed_click(core, action, value)))
        assert refused.text == texts.NOT_YOURS
    [read] = await core.handle(message(CHAIR, click=signed_click(core, actions.CASE_READ, value)))
    assert "insults" in read.text


async def test_a_pupils_safety_reaches_the_dsl_and_the_headteacher_at_once(core, database):
    core.notify_jitter_seconds = 900
    await assign(database, repo.HEADTEACHER, HEAD)
    reply = await report(core, kind="pupil_safety", what="A pupil is being groomed on Snapchat.")
    rows = await notifications(database)
    assert sorted(n.recipient_role for n in rows) == [repo.HEADTEACHER, repo.SAFEGUARDING_LEAD]
    assert all(n.next_attempt_at <= n.created_at + timedelta(seconds=1) for n in rows)  # urgent: no delay
    # Nobody holds the DSL role yet: the reporter is told honestly, and the report is kept.
    assert texts.NOBODY_HOLDS.format(role="the Designated Safeguarding Lead") in reply.text


async def test_other_reports_leave_at_a_random_delay(core, database):
    core.notify_jitter_seconds = 900
    await report(core)
    [row] = await notifications(database)
    assert timedelta(0) <= row.next_attempt_at - row.created_at <= timedelta(seconds=900)


async def test_the_headteachers_card_acknowledge_reply_and_close(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    code, secret = code_and_secret(await report(core))
    [row] = await notifications(database)
    async with database.transaction() as session:
        [claimed] = await repo.claim_notifications(session=session, worker_id="w")
    card = core._notification_message(claimed)
    # Nothing on a report's card names anyone the platform's way (no mention of the reporter).
    assert not [fact for fact in card.facts if fact.person] and card.notification_text == texts.NEW_REPORT_NOTIFICATION
    assert "insults" in card.text and code in card.title
    by_action = {b.action_id: b for b in card.buttons}
    assert list(by_action) == [actions.CASE_ACKNOWLEDGE, actions.CASE_REPLY, actions.CASE_CLOSE, actions.CASE_READ]

    [acknowledged] = await core.handle(message(HEAD, click=ButtonClick(actions.CASE_ACKNOWLEDGE, by_action[actions.CASE_ACKNOWLEDGE].value, "card-9")))
    assert acknowledged.replaces_message_id == "card-9" and actions.CASE_ACKNOWLEDGE not in {b.action_id for b in acknowledged.buttons}
    # Someone without the role changes nothing.
    [refused] = await core.handle(message(REPORTER, click=ButtonClick(actions.CASE_CLOSE, by_action[actions.CASE_CLOSE].value, "card-9")))
    assert refused.text == texts.NOT_YOURS

    [form] = await core.handle(message(HEAD, click=ButtonClick(actions.CASE_REPLY, by_action[actions.CASE_REPLY].value, "card-9")))
    assert form.form.form_id == actions.CASE_REPLY_FORM
    saved, redrawn = await core.handle(message(HEAD, form=filled(form.form, reply="Thank you, I'll call them today <!channel>.")))
    assert saved.in_form and redrawn.replaces_message_id == "card-9"

    [close_form] = await core.handle(message(HEAD, click=ButtonClick(actions.CASE_CLOSE, by_action[actions.CASE_CLOSE].value, "card-9")))
    empty = await core.handle(message(HEAD, form=filled(close_form.form, outcome="")))
    assert empty[0].form_errors
    closed, card_after = await core.handle(message(HEAD, form=filled(close_form.form, outcome="The posts were removed.", note="Spoke to the parent.")))
    assert [b.action_id for b in card_after.buttons] == [actions.CASE_READ]
    # Staff read the whole case again, with the note they wrote for each other.
    full = await core.handle(message(HEAD, click=ButtonClick(actions.CASE_READ, card_after.buttons[0].value)))
    assert "Spoke to the parent." in " ".join(part.text for part in full) and texts.CLOSE_NOTE_HEADING in full[-1].text

    # The reporter reads both, with the code and the secret.
    [seen] = await core.handle(message(form=submission(core, actions.FOLLOW_UP_FORM, code=code.lower(), secret=secret)))
    assert seen.in_form and "call them today" in seen.text and "The posts were removed." in seen.text
    assert "Spoke to the parent" not in seen.text and seen.form is None  # closed: nothing more to add


async def test_a_wrong_secret_and_an_unknown_code_get_the_same_answer(core, database):
    code, secret = code_and_secret(await report(core))
    [wrong] = await core.handle(message(form=submission(core, actions.FOLLOW_UP_FORM, code=code, secret="AAAA-AAAA-AAAA-AAAA")))
    [unknown] = await core.handle(message(form=submission(core, actions.FOLLOW_UP_FORM, code="ZZZZ-ZZZZ", secret=secret)))
    assert wrong.form_errors == unknown.form_errors == (("code", texts.NO_MATCH),)


async def test_the_reporter_adds_more_and_10000_characters_are_kept_whole(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    code, secret = code_and_secret(await report(core, what="x" * 2999))
    [opened] = await core.handle(message(form=submission(core, actions.FOLLOW_UP_FORM, code=code, secret=secret)))
    token = opened.form.private_metadata
    assert secret not in token
    for part in range(3):
        [added] = await core.handle(message(form=filled(opened.form, more="jqz"[part] * 2400)))
        assert texts.MESSAGE_ADDED.format(code=code, recipient="Mrs Patel") in added.text
    [read, *more] = await core.handle(message(HEAD, click=signed_click(core, actions.CASE_READ, f'{{"case": "{code}"}}')))
    whole = "".join(reply.text for reply in [read, *more])
    assert more and all(len(reply.text) <= 3000 for reply in [read, *more])
    assert whole.count("x") == 2999 and whole.count("z") == 2400
    # A forged or expired token opens nothing.
    [expired] = await core.handle(message(form=submission(core, actions.REPORTER_MESSAGE_FORM, metadata="v1:forged", more="hi")))
    assert expired.text == texts.FOLLOW_UP_EXPIRED


def _photo_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0110] = "Pixel 9 Pro"  # the camera model
    exif[0x8825] = {1: "N", 2: (53.0, 18.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def test_screenshots_are_stored_without_their_metadata_and_non_images_are_refused(core, database):
    photo = _photo_with_gps()
    assert b"Pixel 9 Pro" in photo

    async def fetch_photo():
        return photo

    async def fetch_text():
        return b"not a picture"

    files = (
        IncomingFile(name="shot.jpg", mimetype="image/jpeg", size=len(photo), fetch=fetch_photo),
        IncomingFile(name="notes.pdf", mimetype="application/pdf", size=10, fetch=fetch_text),
        IncomingFile(name="huge.png", mimetype="image/png", size=50 * 1024 * 1024, fetch=fetch_text),
    )
    reply = await report(core, files=files)
    assert "notes.pdf" in reply.text and "huge.png" in reply.text and texts.EVIDENCE_PENDING.format(count=1) in reply.text
    await core.wait_for_background()
    async with database.transaction() as session:
        [case] = (await session.exec(select(ReportCase))).all()
        [(item, content)] = await repo.list_evidence(session=session, case_id=case.id)
    assert item.mimetype == "image/png" and b"Pixel 9 Pro" not in content
    with Image.open(io.BytesIO(content)) as stored:
        assert stored.size == (40, 30) and not stored.getexif()
    # Sent in the chat: the same answer whether or not the code exists.
    code = case.code
    [known] = await core.handle(message(text=f"add evidence to {code}", files=files[:1]))
    [unknown] = await core.handle(message(text="add evidence to ZZZZ-ZZZZ", files=files[:1]))
    assert known.text == unknown.text.replace("ZZZZ-ZZZZ", code)
    await core.wait_for_background()
    assert await count(database, CaseEvidence) == 2


async def test_a_named_reporter_who_asks_to_be_messaged_hears_of_news(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    code, _ = code_and_secret(await report(core, identity="named_direct"))
    async with database.transaction() as session:
        [reporter] = (await session.exec(select(CaseReporter))).all()
    assert (reporter.platform, reporter.user_id) == ("slack", "U0REPORTER")
    await core.handle(message(HEAD, click=signed_click(core, actions.CASE_ACKNOWLEDGE, f'{{"case": "{code}"}}', "c")))
    direct = [n for n in await notifications(database) if n.recipient_user_id == "U0REPORTER"]
    assert [n.kind for n in direct] == [repo.CASE_UPDATE_FOR_REPORTER]
    [card] = await core.handle(message(HEAD, click=signed_click(core, actions.CASE_READ, f'{{"case": "{code}"}}')))
    # A named report without "message me" keeps the name only.
    await report(core, identity="named", event_id="submit-2")
    async with database.transaction() as session:
        rows = (await session.exec(select(CaseReporter).order_by(CaseReporter.id))).all()
    assert (rows[1].platform, rows[1].user_id) == (None, None)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


async def test_deadline_reminders_with_a_frozen_clock(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    code, _ = code_and_secret(await report(core))
    opened = date.today()
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=1))) == 0
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=2))) == 1
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=3))) == 0  # once
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=6))) == 1  # before day 7
    await core.handle(message(HEAD, click=signed_click(core, actions.CASE_ACKNOWLEDGE, f'{{"case": "{code}"}}', "c")))
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=83))) == 1  # no feedback for almost 3 months
    assert await core.send_reminders(now=at_noon(opened + timedelta(days=89))) == 0
    kinds = [n.kind for n in await notifications(database)]
    assert kinds.count(repo.CASE_REMINDER) == 3
    async with database.transaction() as session:
        reminders = [n for n in await repo.claim_notifications(session=session, worker_id="w", limit=50) if n.kind == repo.CASE_REMINDER]
    assert [core._notification_message(n).title for n in reminders] == [texts.REMINDER_TITLE.format(code=code)] * 3


async def test_a_delivered_case_notification_keeps_the_day_only(core, database):
    await assign(database, repo.HEADTEACHER, HEAD)
    await report(core)
    async with database.transaction() as session:
        [claimed] = await repo.claim_notifications(session=session, worker_id="w")
    async with database.transaction() as session:
        assert await repo.mark_delivered(session=session, notification_id=claimed.id, worker_id="w")
    [row] = await notifications(database)
    for moment in (row.created_at, row.next_attempt_at, row.delivered_at):
        assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


async def test_report_flow_messages_are_private_flows(core):
    assert core.is_private_flow(message(text="report"))
    assert core.is_private_flow(message(text="status"))
    assert core.is_private_flow(message(text="I'm being harassed on TikTok"))
    assert core.is_private_flow(message(form=submission(core, what="x")))
    assert core.is_private_flow(message(click=ButtonClick(actions.START_REPORT, "{}")))
    assert not core.is_private_flow(message(text="Can I post a photo of my dog?"))
    assert not core.is_private_flow(message(HEAD, click=ButtonClick(actions.CASE_ACKNOWLEDGE, "{}")))
