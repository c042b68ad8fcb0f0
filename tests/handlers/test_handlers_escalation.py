"""Ask the headteacher: the escalation and its notification in the click's transaction, once per answer,
only by the asker, honest when no headteacher is set up; and the outbox delivery to every role holder."""

from __future__ import annotations

import dataclasses

import pytest
from handler_helpers import count, dm, signed_click
from sqlmodel import select

from handlers import actions, decision_texts, texts
from handlers.core import DeliveryFailed, NoReachableRecipient, UnknownNotificationKind
from handlers.messages import ButtonClick, ConversationRef
from storage import repository as repo
from storage.models import AuditEvent, Escalation, Notification

QUESTION = "Can I post the sports day photos?"


def ask_button(reply):
    return next(button for button in reply.buttons if button.action_id == actions.ASK_HEADTEACHER)


def click(button, *, event_id: str, user_id: str = "U1", message_id: str | None = "1760000001.000900"):
    message = dm(click=ButtonClick(action_id=button.action_id, value=button.value, message_id=message_id), event_id=event_id)
    return dataclasses.replace(message, conversation=dataclasses.replace(message.conversation, user_id=user_id))


async def assign_headteacher(database, *, platform: str = "slack", user_id: str = "U0HEAD") -> None:
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform=platform, user_id=user_id, display_name="Mrs Patel")


async def test_the_asker_escalates_once_and_the_answer_is_replaced(core, database):
    await assign_headteacher(database)
    [answer] = await core.handle(dm(QUESTION))
    button = ask_button(answer)

    [sent] = await core.handle(click(button, event_id="A1"))
    assert sent.title == texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel")
    assert sent.replaces_message_id == "1760000001.000900" and not sent.buttons

    async with database.transaction() as session:
        [escalation] = (await session.exec(select(Escalation))).all()
        public = await repo.get_escalation(session=session, escalation_id=escalation.id)
        [claimed] = await repo.claim_notifications(session=session, worker_id="test")
        audit = (await session.exec(select(AuditEvent).where(AuditEvent.action == "escalation.opened"))).all()
    assert (public.question, public.verdict, public.situation) == (QUESTION, "not_allowed", "photos_of_pupils")
    assert (public.requester_platform, public.requester_user_id, public.recipient_role) == ("slack", "U1", "headteacher")
    assert (claimed.kind, claimed.recipient_role) == ("escalation_opened", "headteacher")
    assert claimed.payload["question"] == QUESTION and claimed.payload["requester_user_id"] == "U1"
    assert [(event.actor_platform, event.actor_user_id) for event in audit] == [("slack", "U1")]

    # Pressed again (another delivery, e.g. a double click before the answer was replaced).
    [again] = await core.handle(click(button, event_id="A2"))
    assert again.text == texts.ASK_HEADTEACHER_ALREADY_SENT.format(headteacher="Mrs Patel") and again.private
    assert await count(database, Escalation) == 1
    assert await count(database, Notification) == 1


async def test_someone_else_cannot_escalate_anothers_question(core, database):
    await assign_headteacher(database)
    [answer] = await core.handle(dm(QUESTION))
    [refused] = await core.handle(click(ask_button(answer), event_id="A1", user_id="U2"))
    assert refused.text == texts.ASK_HEADTEACHER_NOT_YOURS.format(headteacher="Mrs Patel")
    assert refused.private and refused.replaces_message_id is None
    assert await count(database, Escalation) == 0 and await count(database, Notification) == 0
    # The asker still can afterwards.
    [sent] = await core.handle(click(ask_button(answer), event_id="A2"))
    assert sent.title == texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel")


async def test_no_headteacher_set_up_is_said_plainly_and_nothing_is_queued(core, database):
    [answer] = await core.handle(dm(QUESTION))
    [reply] = await core.handle(click(ask_button(answer), event_id="A1"))
    assert reply.text == decision_texts.ASK_NO_DECIDER.format(headteacher="Mrs Patel") and reply.private
    assert "directly" in reply.text and "on its way" not in reply.text
    assert await count(database, Escalation) == 0 and await count(database, Notification) == 0
    # Once one is set up, the same button works.
    await assign_headteacher(database)
    [sent] = await core.handle(click(ask_button(answer), event_id="A2"))
    assert sent.replaces_message_id is not None


async def test_a_button_without_its_asker_is_expired(core, database):
    await assign_headteacher(database)
    value = actions.encode({"verdict": "not_allowed", "situation": "", "question": QUESTION})
    [reply] = await core.handle(dm(click=signed_click(core, actions.ASK_HEADTEACHER, value), event_id="A1"))
    assert reply.text == texts.BUTTON_EXPIRED
    assert await count(database, Notification) == 0


class Recorder:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[tuple[str, object, ConversationRef | None]] = []
        self.fail = fail

    async def __call__(self, *, user_id, reply):
        if self.fail:
            raise RuntimeError("platform down")
        self.sent.append((user_id, reply))


async def claimed_notification(database):
    async with database.transaction() as session:
        [claimed] = await repo.claim_notifications(session=session, worker_id="test")
    return claimed


async def test_delivery_goes_to_every_holder_on_a_configured_platform(core, database):
    await assign_headteacher(database, platform="slack", user_id="U0HEAD")
    await assign_headteacher(database, platform="teams", user_id="29:head")
    await assign_headteacher(database, platform="other", user_id="X")
    [answer] = await core.handle(dm(QUESTION))
    await core.handle(click(ask_button(answer), event_id="A1"))
    notification = await claimed_notification(database)

    slack, teams = Recorder(), Recorder()
    await core.deliver(notification, senders={"slack": slack, "teams": teams})
    [(user_id, reply)] = slack.sent
    [asker] = [fact.person for fact in reply.facts if fact.person is not None]
    assert user_id == "U0HEAD" and (asker.platform, asker.user_id) == ("slack", "U1")
    assert QUESTION in reply.text and decision_texts.QUESTION_INTROS["post"] in reply.text
    assert [b.label for b in reply.buttons] == ["Fine to post", "Don't post", "Let's talk"]
    assert reply.facts[-1].value == "⛔ No, the policy doesn't allow this"
    assert [user for user, _ in teams.sent] == ["29:head"]

    with pytest.raises(DeliveryFailed, match="teams: RuntimeError"):
        await core.deliver(notification, senders={"slack": Recorder(), "teams": Recorder(fail=True)})
    with pytest.raises(NoReachableRecipient):
        await core.deliver(notification, senders={"email": Recorder()})


async def test_kinds_without_a_message_are_not_delivered(core, database):
    await assign_headteacher(database)
    async with database.transaction() as session:
        await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="a_later_versions_kind", payload={})
    sender = Recorder()
    with pytest.raises(UnknownNotificationKind):
        await core.deliver(await claimed_notification(database), senders={"slack": sender})
    assert sender.sent == []
