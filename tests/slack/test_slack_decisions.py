"""The headteacher's decisions on Slack, end to end: signed requests to the running adapter with the real
conversation core, advisor and a SQLite database, the outbox worker's DMs, and the recording Web API.

A question answered with each decision, a removal request approved, rejected, confirmed and overdue, the
"Ask for this to be removed" shortcut, refusals, decisions taken once however often (or from however
many places) they are clicked, deliveries that fail and are retried, a long note, the App Home tab, and
mrkdwn in a question."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_harness import RecordingSlackApi, buttons_in, click_payload, fixture, home_click_payload, shown
from slack_harness import submission_payload
from sqlmodel import select

from bot.server import OutboxWorker, ServerPlan
from bot.slack import render, translate
from handlers import actions
from handlers import decision_texts as dtexts
from handlers import texts
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage
from handlers.shown_text import shown_text
from storage import repository as repo
from storage.models import AuditEvent, Notification
from storage.repository import outbox

HEADTEACHER = "U0HEAD01"
STAFF = "U0TEACHER1"
POSTER = "U0TEACHER2"
DMS = {HEADTEACHER: "D0HEADDM1", STAFF: "D0BOTDM01", POSTER: "D0POSTER01"}
USERNAMES = {HEADTEACHER: "m.patel", STAFF: "j.smith", POSTER: "a.khan"}
HOOK = "https://hooks.slack.com/actions/T0SCHOOL1/3333333333/abcdefACTION"
QUESTION = "Can I post photos of my class on my Instagram?"
WHAT = "https://www.facebook.com/a.khan/posts/1234 shows the Year 4 class photo with the pupils' names"
WHY = "Pupils are named and recognisable"
# The same person holds the headteacher's role on Teams too.
HEAD_ON_TEAMS = ConversationRef(platform="teams", conversation_id="a:1head", user_id="29:1head", user_name="Mrs Patel")
DECISIONS = [
    (actions.QUESTION_FINE, "fine", "Fine to post", "✅"),
    (actions.QUESTION_DONT, "dont_post", "Don't post", "⛔"),
    (actions.QUESTION_TALK, "talk", "Let's talk", "💬"),
]


@pytest.fixture
async def slack_api():
    api = RecordingSlackApi(dm_channels=DMS)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def school(slack, slack_api, core, settings):
    """The school's Slack with Mrs Patel as headteacher."""
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=HEADTEACHER, display_name="Mrs Patel")
    return School(slack=slack, api=slack_api, core=core, settings=settings)


def only(calls: list[tuple[str, dict]], method: str) -> dict:
    [found] = [arguments for name, arguments in calls if name == method]
    return found


def methods(calls: list[tuple[str, dict]]) -> list[str]:
    return [name for name, _ in calls]


def field_ids(view: dict) -> list[str]:
    return [block["block_id"] for block in view["blocks"] if block["type"] == "input"]


def as_user(payload: dict, user: str) -> dict:
    payload["user"].update(id=user, username=USERNAMES[user], name=USERNAMES[user])
    return payload


class School:
    """What people do in Slack, as Slack sends it, and what the bot answered with."""

    def __init__(self, *, slack, api: RecordingSlackApi, core, settings) -> None:
        self.slack, self.api, self.core, self.settings = slack, api, core, settings
        self._numbers = iter(range(1, 10_000))

    def _trigger(self) -> str:
        return f"1234567890.{next(self._numbers):010d}.decisions"

    async def write(self, text: str, *, user: str = STAFF) -> list[tuple[str, dict]]:
        """Someone writes in their DM with the bot; the Web API calls that answered them."""
        payload = fixture("event_message_im.json")
        number = next(self._numbers)
        payload["event_id"] = f"Ev0DECISION{number:04d}"
        payload["event"].update(text=text, user=user, channel=DMS[user], ts=f"1760000000.{number:06d}")
        return await self.api.answers_after(self.slack.event(payload))

    async def dm(self, text: str) -> dict:
        """The staff member asks in their DM; returns the bot's answer (chat.postMessage)."""
        return only(await self.write(text), "chat.postMessage")

    def click(self, message: dict, action_id: str, *, user: str, trigger_id: str | None = None) -> dict:
        """A block_actions payload for a button on `message`, a message the bot posted (chat.postMessage)."""
        payload = click_payload(button=buttons_in(message["blocks"])[action_id], response_url=self.api.hook_url(HOOK),
                                channel=message["channel"], trigger_id=trigger_id or self._trigger())
        payload["container"]["message_ts"] = message["_ts"]
        payload["message"].update(ts=message["_ts"], text=message["text"], blocks=message["blocks"])
        return as_user(payload, user)

    async def press(self, message: dict, action_id: str, *, user: str, **options) -> list[tuple[str, dict]]:
        return await self.api.answers_after(self.slack.interaction(self.click(message, action_id, user=user, **options)))

    async def submit(self, view: dict, answers: dict, *, user: str) -> tuple[dict | None, list[tuple[str, dict]]]:
        """(Slack's acknowledgement of the submitted modal, the Web API calls after it)."""
        payload = as_user(submission_payload(view, answers, trigger_id=self._trigger(), user=user), user)
        body = {}

        async def post():
            status, text = await self.slack.interaction(payload)
            assert status == 200
            body["ack"] = json.loads(text) if text else None

        calls = await self.api.answers_after(post())
        return body["ack"], calls

    async def command(self, text: str, *, user: str = STAFF) -> list[tuple[str, dict]]:
        fields = fixture("command_policy.json")
        fields.update(text=text, user_id=user, user_name=USERNAMES[user], channel_id=DMS[user], channel_name="directmessage",
                      trigger_id=self._trigger(), response_url=self.api.hook_url(fields["response_url"]))
        return await self.api.answers_after(self.slack.command(fields))

    async def deliver(self, *, expected: int | None = None) -> list[tuple[str, dict]]:
        """Run the outbox worker once, as `policybot serve` does; the Web API calls it made."""
        async with outbox_worker(self) as worker:
            before = len(self.api.answers())
            delivered = await worker.dispatcher.run_once()
        if expected is not None:
            assert delivered == expected
        return self.api.answers()[before:]

    async def home(self, user: str) -> dict:
        payload = fixture("event_app_home_opened.json")
        payload["event"]["user"] = user
        payload["event_id"] = f"Ev0HOME{next(self._numbers):04d}"
        return only(await self.api.answers_after(self.slack.event(payload)), "views.publish")["view"]

    # --- The flows, up to the headteacher's card --------------------------------------------------------

    async def question_card(self, question: str = QUESTION) -> dict:
        """Staff ask, press "Ask the headteacher", and the outbox brings the headteacher the card."""
        answer = await self.dm(question)
        sent = only(await self.press(answer, actions.ASK_HEADTEACHER, user=STAFF), "response_url")
        assert sent["replace_original"] is True
        return dm_to(await self.deliver(expected=1), HEADTEACHER)

    async def removal_form(self) -> dict:
        """`/policy remove`: the removal form, as a modal."""
        calls = await self.command("remove")
        assert methods(calls) == ["views.open"]
        return only(calls, "views.open")["view"]

    async def removal_card(self, **answers) -> dict:
        """Staff ask for a colleague's post to be removed (or what `answers` say); the outbox brings the
        headteacher the card."""
        answers = {"content": WHAT, "location": "colleague", "poster": POSTER, "reason": WHY, **answers}
        ack, calls = await self.submit(await self.removal_form(), answers, user=STAFF)
        assert ack["response_action"] == "update" and calls == []
        assert dtexts.REQUEST_SENT.format(headteacher="Mrs Patel") in shown(ack["view"]["blocks"])
        return dm_to(await self.deliver(expected=1), HEADTEACHER)

    async def decision_modal(self, card: dict, action_id: str, *, user: str = HEADTEACHER) -> dict:
        calls = await self.press(card, action_id, user=user)
        assert methods(calls) == ["views.open"]
        return only(calls, "views.open")["view"]


@contextlib.asynccontextmanager
async def outbox_worker(school: School):
    worker = OutboxWorker(settings=school.settings, core=school.core,
                          plan=ServerPlan(local_mode=False, teams=False, slack=True, host="127.0.0.1", port=0))
    try:
        yield worker
    finally:
        await worker.stop()


def dm_to(calls: list[tuple[str, dict]], user: str) -> dict:
    """The one message posted in `user`'s DM among `calls`, after the DM was opened for them."""
    opened = [arguments["users"] for name, arguments in calls if name == "conversations.open"]
    assert user in opened
    [message] = [arguments for name, arguments in calls if name == "chat.postMessage" and arguments["channel"] == DMS[user]]
    return message


async def notifications(core, kind: str | None = None) -> list[Notification]:
    async with core.database.transaction() as session:
        rows = (await session.exec(select(Notification).order_by(Notification.id))).all()
    return [row for row in rows if kind is None or row.kind == kind]


async def audited(core, action: str) -> int:
    async with core.database.transaction() as session:
        return len((await session.exec(select(AuditEvent).where(AuditEvent.action == action))).all())


class OnTeams:
    """The headteacher acting on their Teams copy of a card, as the Teams adapter hands it to the core."""

    def __init__(self, core) -> None:
        self.core = core
        self._numbers = iter(range(1, 10_000))

    async def _send(self, **content) -> list:
        return await self.core.handle(IncomingMessage(
            conversation=HEAD_ON_TEAMS, is_direct=True, event_id=f"teams-activity-{next(self._numbers)}", form_here=True, **content))

    async def press(self, button: dict) -> list:
        return await self._send(click=ButtonClick(action_id=button["action_id"], value=button["value"], message_id="teams-card-1"))

    async def submit(self, form, values: dict) -> list:
        return await self._send(form=FormSubmission(form_id=form.form_id, values=values, private_metadata=form.private_metadata))


@pytest.fixture
async def teams_head(school) -> OnTeams:
    """Mrs Patel holds the headteacher's role on Teams too."""
    async with school.core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="teams", user_id=HEAD_ON_TEAMS.user_id)
    return OnTeams(school.core)


# --- 1. A question answered with each decision -----------------------------------------------------------


@pytest.mark.parametrize(("action_id", "decision", "label", "icon"), DECISIONS)
async def test_a_question_answered_with_each_decision(school, action_id, decision, label, icon):
    card = await school.question_card()
    text = shown(card["blocks"])
    assert f"*{texts.ASKED_BY}*\n<@{STAFF}>" in text  # who asked, as Slack shows a person
    assert QUESTION in text
    assert [(b["text"]["text"], b.get("style")) for b in buttons_in(card["blocks"]).values()] == [
        ("Fine to post", "primary"), ("Don't post", "danger"), ("Let's talk", None)]
    quotes = [block["text"]["text"] for block in card["blocks"] if "text" in block and "\n&gt; " in block["text"]["text"]]
    assert quotes, "the clauses the advisor quoted"
    assert card["text"] == dtexts.QUESTION_NOTIFICATION  # the lock screen does not show the question

    modal = await school.decision_modal(card, action_id)
    assert modal["callback_id"] == actions.QUESTION_DECISION_FORM and modal["title"]["text"] == label
    [note_field] = [block for block in modal["blocks"] if block["type"] == "input"]
    assert note_field["optional"] is True and note_field["element"]["max_length"] == render.TEXT_INPUT_MAX
    assert f"{DMS[HEADTEACHER]}:{card['_ts']}" in modal["private_metadata"]  # the card, to update it later

    note = "Thanks for checking first. Use the school's page instead & ask the office."
    ack, calls = await school.submit(modal, {"note": note}, user=HEADTEACHER)
    # The modal shows what was sent; the card is redrawn with the decision, who and when, and no buttons.
    assert ack["response_action"] == "update" and "submit" not in ack["view"]
    assert dtexts.DECISION_SENT.format(decision=label, asker=shown_text("j.smith")) in shown(ack["view"]["blocks"])
    updated = only(calls, "chat.update")
    assert methods(calls) == ["chat.update"] and (updated["channel"], updated["ts"]) == (DMS[HEADTEACHER], card["_ts"])
    redrawn = shown(updated["blocks"])
    assert f"{icon} {label}: answered by Mrs Patel on " in redrawn and render.escape(note) in redrawn
    assert buttons_in(updated["blocks"]) == {}

    # The member of staff hears the answer, with the note, in their DM.
    message = dm_to(await school.deliver(expected=1), STAFF)
    told = shown(message["blocks"])
    assert render.escape(note) in told and QUESTION in told
    if decision == "talk":
        assert "Mrs Patel would like to talk about it" in told and dtexts.ANSWER_TALK.format(headteacher="Mrs Patel") in told
    else:
        assert f"Mrs Patel says: {label}" in told
    assert buttons_in(message["blocks"]) == {}


async def test_the_card_still_says_who_asked_after_the_decision_and_in_the_home_tab(school):
    # Typed in the DM: Slack's events carry no name, so the mention is all that says who asked.
    await school.write("ask the head: may I share the fair poster?")
    card = dm_to(await school.deliver(expected=1), HEADTEACHER)
    mention = f"*{texts.ASKED_BY}*\n<@{STAFF}>"
    assert mention in shown(card["blocks"])
    assert mention in shown((await school.home(HEADTEACHER))["blocks"])
    modal = await school.decision_modal(card, actions.QUESTION_FINE)
    _ack, calls = await school.submit(modal, {"note": ""}, user=HEADTEACHER)
    assert mention in shown(only(calls, "chat.update")["blocks"])


# --- 2. Removal requests ---------------------------------------------------------------------------------


async def test_a_removal_request_approved_and_confirmed_by_the_poster(school):
    view = await school.removal_form()
    assert view["callback_id"] == actions.REMOVAL_FORM and view["title"]["text"] == dtexts.REQUEST_FORM_TITLE
    assert field_ids(view) == ["content", "location", "poster", "reason", "clause"]
    poster_input = next(block for block in view["blocks"] if block.get("block_id") == "poster")
    assert poster_input["element"]["type"] == "users_select" and poster_input["optional"] is True

    card = await school.removal_card()
    text = shown(card["blocks"])
    assert f"*{texts.ASKED_BY}*\n<@{STAFF}>" in text and render.escape(WHAT) in text and WHY in text
    assert dtexts.STATE_PENDING in text and "\n&gt; " in text  # the clause policybot suggested
    assert list(buttons_in(card["blocks"])) == [actions.REMOVAL_APPROVE, actions.REMOVAL_REJECT]

    calls = await school.press(card, actions.REMOVAL_APPROVE, user=HEADTEACHER)
    said, redrawn = (arguments for _, arguments in calls)
    assert methods(calls) == ["response_url", "response_url"]
    assert said["response_type"] == "ephemeral" and "Approved by Mrs Patel on " in shown(said["blocks"])
    assert redrawn["replace_original"] is True and buttons_in(redrawn["blocks"]) == {}

    # The poster is asked to remove it, with a deadline and a "Removed" button; the requester hears.
    delivered = await school.deliver(expected=2)
    notice, decided = dm_to(delivered, POSTER), dm_to(delivered, STAFF)
    assert notice["text"] == dtexts.NOTICE_NOTIFICATION
    assert dtexts.NOTICE_INTRO.format(who="Mrs Patel") in shown(notice["blocks"]) and render.escape(WHAT) in shown(notice["blocks"])
    assert list(buttons_in(notice["blocks"])) == [actions.REMOVAL_DONE]
    assert dtexts.DECIDED_APPROVED_TITLE.format(headteacher="Mrs Patel") in shown(decided["blocks"])

    # Only the poster (or a decider) may confirm it has gone.
    [(_, refused)] = await school.press(notice, actions.REMOVAL_DONE, user=STAFF)
    assert refused["response_type"] == "ephemeral" and dtexts.ONLY_THE_ACTOR.format(headteacher="Mrs Patel") in shown(refused["blocks"])
    calls = await school.press(notice, actions.REMOVAL_DONE, user=POSTER)
    thanks, notice_now = (arguments for _, arguments in calls)
    assert shown(thanks["blocks"]) == dtexts.REMOVED_THANKS and notice_now["replace_original"] is True
    assert buttons_in(notice_now["blocks"]) == {} and "Removed: confirmed by " in shown(notice_now["blocks"])

    delivered = await school.deliver(expected=2)
    for person in (STAFF, HEADTEACHER):
        assert dtexts.DONE_TITLE in shown(dm_to(delivered, person)["blocks"])
    assert await audited(school.core, "removal_request.removed") == 1


async def test_a_removal_request_rejected_with_a_reason(school):
    card = await school.removal_card()
    modal = await school.decision_modal(card, actions.REMOVAL_REJECT)
    assert modal["callback_id"] == actions.REMOVAL_REJECT_FORM and field_ids(modal) == ["reason"]

    ack, calls = await school.submit(modal, {"reason": ""}, user=HEADTEACHER)
    assert ack == {"response_action": "errors", "errors": {"reason": dtexts.REJECT_REASON_EMPTY}} and calls == []

    reason = "It was posted with the parents' written consent."
    ack, calls = await school.submit(modal, {"reason": reason}, user=HEADTEACHER)
    assert ack["response_action"] == "update" and dtexts.REJECTED_SENT in shown(ack["view"]["blocks"])
    updated = only(calls, "chat.update")
    assert (updated["channel"], updated["ts"]) == (DMS[HEADTEACHER], card["_ts"]) and buttons_in(updated["blocks"]) == {}
    assert "Rejected by Mrs Patel on " in shown(updated["blocks"])

    told = shown(dm_to(await school.deliver(expected=1), STAFF)["blocks"])
    assert dtexts.DECIDED_REJECTED_TITLE.format(headteacher="Mrs Patel") in told and render.escape(reason) in told
    assert await notifications(school.core, "removal_notice") == []


async def test_a_parents_post_approved_is_the_headteachers_to_get_taken_down(school):
    card = await school.removal_card(location="parent", poster=None)
    await school.press(card, actions.REMOVAL_APPROVE, user=HEADTEACHER)
    delivered = await school.deliver(expected=2)
    notice = dm_to(delivered, HEADTEACHER)
    assert dtexts.NOTICE_INTRO_FOR_HEADTEACHER in shown(notice["blocks"]) and list(buttons_in(notice["blocks"])) == [actions.REMOVAL_DONE]
    assert dtexts.DECIDED_APPROVED_TITLE.format(headteacher="Mrs Patel") in shown(dm_to(delivered, STAFF)["blocks"])

    thanks, _redrawn = (arguments for _, arguments in await school.press(notice, actions.REMOVAL_DONE, user=HEADTEACHER))
    assert shown(thanks["blocks"]) == dtexts.REMOVED_THANKS
    assert dtexts.DONE_TITLE in shown(dm_to(await school.deliver(), STAFF)["blocks"])


async def test_an_overdue_removal_reminds_the_poster_and_the_headteacher(school):
    card = await school.removal_card()
    await school.press(card, actions.REMOVAL_APPROVE, user=HEADTEACHER)
    await school.deliver(expected=2)
    approved_at = datetime.now(UTC)

    assert await school.core.send_reminders(now=approved_at + timedelta(hours=23)) == 0
    assert await school.core.send_reminders(now=approved_at + timedelta(hours=25)) == 1
    delivered = await school.deliver(expected=2)
    to_poster, to_head = dm_to(delivered, POSTER), dm_to(delivered, HEADTEACHER)
    assert dtexts.NOTICE_OVERDUE_TITLE in shown(to_poster["blocks"]) and list(buttons_in(to_poster["blocks"])) == [actions.REMOVAL_DONE]
    assert dtexts.OVERDUE_FOR_DECIDER_TITLE in shown(to_head["blocks"]) and render.escape(WHAT) in shown(to_head["blocks"])
    # Once only, however often the deadlines are checked.
    assert await school.core.send_reminders(now=approved_at + timedelta(hours=30)) == 0


# --- 3. The message shortcut -----------------------------------------------------------------------------


async def test_the_removal_shortcut_opens_the_form_with_the_message_and_its_author(school):
    payload = fixture("shortcut_removal.json")
    payload["response_url"] = school.api.hook_url(payload["response_url"])
    calls = await school.api.answers_after(school.slack.interaction(payload))
    assert methods(calls) == ["views.open"]
    opened = only(calls, "views.open")
    assert opened["trigger_id"] == payload["trigger_id"]
    view = opened["view"]
    inputs = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    content = inputs["content"]["initial_value"]
    link = "https://greenfield-primary.slack.com/archives/C0STAFFROOM/p1760000250000400"
    assert content.splitlines() == [link, "Here's the class photo from today's trip <3 all 28 of them by the museum steps <@U0HEAD>"]
    assert inputs["poster"]["initial_user"] == "U0TEACHER2"
    assert inputs["location"]["initial_option"]["value"] == "colleague"

    ack, _ = await school.submit(view, {"content": content, "location": "colleague", "poster": "U0TEACHER2", "reason": WHY}, user=STAFF)
    assert ack["response_action"] == "update"
    [requested] = await notifications(school.core, "removal_requested")
    assert requested.recipient_role == repo.HEADTEACHER
    card = dm_to(await school.deliver(expected=1), HEADTEACHER)
    # The message's text reaches the headteacher escaped: the mention in it pings nobody.
    assert "&lt;@U0HEAD&gt;" in shown(card["blocks"]) and "<@U0HEAD>" not in json.dumps(card)


# --- 4. Refusals -----------------------------------------------------------------------------------------


async def test_a_click_by_someone_who_may_not_decide_changes_nothing_and_says_why(school):
    question = await school.question_card()
    removal = await school.removal_card()
    modal = await school.decision_modal(question, actions.QUESTION_FINE)
    queued = len(await notifications(school.core))
    refusal = dtexts.NOT_A_DECIDER.format(headteacher="Mrs Patel")

    # A forwarded card, or a forged click: answered privately to the clicker, and nothing else happens.
    for card, action_id in ((question, actions.QUESTION_FINE), (question, actions.QUESTION_TALK),
                            (removal, actions.REMOVAL_APPROVE), (removal, actions.REMOVAL_REJECT)):
        [(method, said)] = await school.press(card, action_id, user=STAFF)
        assert method == "response_url" and said["response_type"] == "ephemeral" and said["replace_original"] is False
        assert shown(said["blocks"]) == refusal

    # The headteacher's modal, submitted by someone else (a forged view_submission): refused in the modal.
    ack, calls = await school.submit(modal, {"note": "Fine by me"}, user=STAFF)
    assert ack["response_action"] == "update" and refusal in shown(ack["view"]["blocks"]) and calls == []

    assert len(await notifications(school.core)) == queued
    assert await audited(school.core, "escalation.answered") == 0 and await audited(school.core, "removal_request.approved") == 0


# --- 5. Decided once -------------------------------------------------------------------------------------


async def test_a_double_approval_gives_one_decision_and_one_notice(school):
    card = await school.removal_card()
    await school.press(card, actions.REMOVAL_APPROVE, user=HEADTEACHER)

    # The same card clicked again (another click, its own trigger): said so, and the card redrawn as it is.
    calls = await school.press(card, actions.REMOVAL_APPROVE, user=HEADTEACHER)
    said, redrawn = (arguments for _, arguments in calls)
    assert shown(said["blocks"]).startswith("This request was already decided: Approved by Mrs Patel")
    assert redrawn["replace_original"] is True and buttons_in(redrawn["blocks"]) == {}

    # Slack delivering the first click again (a retry: the same trigger) is not answered at all.
    retried = school.click(card, actions.REMOVAL_APPROVE, user=HEADTEACHER, trigger_id="1234567890.1.retried")
    await school.api.answers_after(school.slack.interaction(retried))
    assert await school.api.answers_after(school.slack.interaction(retried, headers={"X-Slack-Retry-Num": "1"})) == []

    assert await audited(school.core, "removal_request.approved") == 1
    assert len(await notifications(school.core, "removal_notice")) == 1
    assert len(await notifications(school.core, "removal_decided")) == 1


async def test_two_clicks_in_flight_at_once_give_one_decision(school):
    card = await school.removal_card()
    clicks = [school.click(card, actions.REMOVAL_APPROVE, user=HEADTEACHER) for _ in range(2)]
    calls = await school.api.answers_after(asyncio.gather(*(school.slack.interaction(click) for click in clicks)))
    said = [shown(arguments["blocks"]) for _, arguments in calls if arguments.get("response_type") == "ephemeral"]
    assert sorted(text.startswith("This request was already decided") for text in said) == [False, True]
    assert await audited(school.core, "removal_request.approved") == 1
    assert len(await notifications(school.core, "removal_notice")) == 1
    dm_to(await school.deliver(expected=2), POSTER)


async def test_an_approval_from_slack_and_one_from_teams_at_once_give_one_decision(school, teams_head):
    card = await school.removal_card()
    on_slack = school.slack.interaction(school.click(card, actions.REMOVAL_APPROVE, user=HEADTEACHER))
    on_teams = teams_head.press(buttons_in(card["blocks"])[actions.REMOVAL_APPROVE])
    results = {}

    async def teams():
        results["teams"] = await on_teams

    slack_calls = await school.api.answers_after(asyncio.gather(on_slack, teams()))
    slack_said = shown(next(arguments for _, arguments in slack_calls if arguments.get("response_type") == "ephemeral")["blocks"])
    teams_said = results["teams"][0].text
    # One of them decided; the other was told it already was.
    assert sorted(text.startswith("This request was already decided") for text in (slack_said, teams_said)) == [False, True]
    assert await audited(school.core, "removal_request.approved") == 1
    [notice] = await notifications(school.core, "removal_notice")
    assert (notice.recipient_platform, notice.recipient_user_id) == ("slack", POSTER)


async def test_a_question_answered_from_slack_and_teams_at_once_is_answered_once(school, teams_head):
    card = await school.question_card()
    modal = await school.decision_modal(card, actions.QUESTION_FINE)
    [teams_form] = await teams_head.press(buttons_in(card["blocks"])[actions.QUESTION_DONT])
    results = {}

    async def on_slack():
        results["slack"] = await school.submit(modal, {"note": "Yes."}, user=HEADTEACHER)

    async def on_teams():
        results["teams"] = await teams_head.submit(teams_form.form, {"note": "No."})

    await asyncio.gather(on_slack(), on_teams())
    (ack, _calls), teams_replies = results["slack"], results["teams"]
    said = (shown(ack["view"]["blocks"]), teams_replies[0].text)
    assert sorted("already answered" in text for text in said) == [False, True]
    assert await audited(school.core, "escalation.answered") == 1
    [answered] = await notifications(school.core, "escalation_answered")
    assert answered.recipient_user_id == STAFF
    dm_to(await school.deliver(expected=1), STAFF)


# --- 6. Deliveries that fail -----------------------------------------------------------------------------


async def test_a_delivery_refused_twice_arrives_once_after_the_retry_delays(school, monkeypatch):
    answer = await school.dm(QUESTION)
    await school.press(answer, actions.ASK_HEADTEACHER, user=STAFF)
    [queued] = await notifications(school.core, "escalation_opened")
    # Slack's edge answers with an error page, then the Web API says it is rate limited; then it takes it.
    school.api.refuse("chat.postMessage", 500, "ratelimited")
    clock = [outbox.utcnow()]
    monkeypatch.setattr(outbox, "utcnow", lambda: clock[0])

    async with outbox_worker(school) as worker:
        assert await worker.dispatcher.run_once() == 0
        [failed] = await notifications(school.core, "escalation_opened")
        assert (failed.status, failed.attempts) == ("pending", 1) and failed.last_error.endswith("Slack answered HTTP 500")
        assert await worker.dispatcher.run_once() == 0  # not before its retry delay
        assert (await notifications(school.core, "escalation_opened"))[0].attempts == 1

        clock[0] += outbox.RETRY_BASE + timedelta(seconds=1)
        assert await worker.dispatcher.run_once() == 0
        [failed] = await notifications(school.core, "escalation_opened")
        assert (failed.status, failed.attempts) == ("pending", 2) and failed.last_error.endswith("Slack answered ratelimited")

        clock[0] += outbox.RETRY_BASE * 2 + timedelta(seconds=1)
        before = len(school.api.answers())
        assert await worker.dispatcher.run_once() == 1
    card = dm_to(school.api.answers()[before:], HEADTEACHER)
    assert QUESTION in shown(card["blocks"])
    [sent] = await notifications(school.core, "escalation_opened")
    assert (sent.id, sent.status, sent.attempts, sent.last_error) == (queued.id, "delivered", 3, None)
    assert [arguments["_answered"] for _, arguments in school.api.refused] == [500, "ratelimited"]
    # The refused calls were the card itself; exactly one copy of it reached the headteacher.
    assert all(QUESTION in json.dumps(arguments) for _, arguments in school.api.refused)
    assert len([1 for name, arguments in school.api.calls if name == "chat.postMessage" and arguments["channel"] == DMS[HEADTEACHER]]) == 1


async def test_slack_rate_limiting_with_http_429_is_waited_out_within_one_delivery(school):
    answer = await school.dm(QUESTION)
    await school.press(answer, actions.ASK_HEADTEACHER, user=STAFF)
    school.api.refuse("chat.postMessage", 429, 429)
    dm_to(await school.deliver(expected=1), HEADTEACHER)
    [sent] = await notifications(school.core, "escalation_opened")
    assert (sent.status, sent.attempts) == ("delivered", 1)


async def test_a_decision_stands_when_slack_cannot_redraw_the_card(school):
    card = await school.question_card()
    modal = await school.decision_modal(card, actions.QUESTION_FINE)
    school.api.refuse("chat.update", 503)
    ack, calls = await school.submit(modal, {"note": ""}, user=HEADTEACHER)
    # The answer is recorded and shown in the modal even though the card could not be redrawn.
    assert ack["response_action"] == "update" and [name for name, _ in school.api.refused] == ["chat.update"]
    assert calls == [] and await audited(school.core, "escalation.answered") == 1
    told = shown(dm_to(await school.deliver(expected=1), STAFF)["blocks"])
    assert dtexts.ANSWER_NO_NOTE in told


async def test_a_message_slack_refuses_with_an_error_page_does_not_stop_the_next_ones(school):
    await school.question_card()
    # "dashboard" is answered with several messages (private: ephemeral in the DM). The first is refused
    # with an error page; the others still go.
    school.api.refuse("chat.postEphemeral", 503)
    posted = await school.write("dashboard", user=HEADTEACHER)
    assert [name for name, _ in school.api.refused] == ["chat.postEphemeral"]
    assert len(posted) >= 2 and {(name, arguments["channel"]) for name, arguments in posted} == {("chat.postEphemeral", DMS[HEADTEACHER])}
    assert actions.QUESTION_FINE in {action for _, arguments in posted for action in buttons_in(arguments["blocks"])}


# --- 7. A long note --------------------------------------------------------------------------------------


async def test_a_5000_character_note_is_kept_whole_and_shown_within_slacks_limits(school, teams_head):
    card = await school.question_card()
    # Slack's own modal holds 3 000 characters at most: a note this long comes from the Teams form.
    sentence = "Please check with the parents & the office first, then use the school's page. "
    note = (sentence * 70)[:5000].rstrip()
    note = note + "x" * (5000 - len(note))
    assert len(note) == 5000
    [form_reply] = await teams_head.press(buttons_in(card["blocks"])[actions.QUESTION_TALK])
    await teams_head.submit(form_reply.form, {"note": note})
    async with school.core.database.transaction() as session:
        [escalation] = await repo.list_escalations_by_requester(session=session, platform="slack", user_id=STAFF)
    assert escalation.response == note

    message = dm_to(await school.deliver(expected=1), STAFF)
    sections = [block["text"]["text"] for block in message["blocks"] if block["type"] == "section" and "text" in block]
    assert all(len(text) <= render.SECTION_TEXT_MAX for text in sections)
    assert len(message["blocks"]) <= render.BLOCKS_MAX and len(message["text"]) <= render.FALLBACK_TEXT_MAX
    # The note is cut between words only: the pieces, joined again, hold all of it.
    assert render.escape(note) in " ".join(sections)
    assert texts.SHORTENED_NOTE not in shown(message["blocks"])


# --- 8. The App Home tab ---------------------------------------------------------------------------------


async def test_the_headteachers_home_tab_lists_what_waits_with_its_buttons(school):
    answer = await school.dm(QUESTION)
    await school.press(answer, actions.ASK_HEADTEACHER, user=STAFF)
    await school.submit(await school.removal_form(), {"content": WHAT, "location": "colleague", "poster": POSTER}, user=STAFF)
    await school.deliver(expected=2)  # their cards, to the headteacher

    home = await school.home(HEADTEACHER)
    assert home["type"] == "home" and len(home["blocks"]) <= render.HOME_BLOCKS_MAX
    text = shown(home["blocks"])
    assert dtexts.DASHBOARD_TITLE in text and QUESTION in text and render.escape(WHAT) in text
    home_buttons = buttons_in(home["blocks"])
    assert {actions.QUESTION_FINE, actions.QUESTION_DONT, actions.QUESTION_TALK, actions.REMOVAL_APPROVE, actions.REMOVAL_REJECT} <= set(home_buttons)

    # A decision taken from the Home tab: its modal opens, and the staff member hears.
    fine = home_buttons[actions.QUESTION_FINE]
    click = as_user(home_click_payload(action_id=fine["action_id"], value=fine["value"], trigger_id="1234567890.9.home"), HEADTEACHER)
    opened = only(await school.api.answers_after(school.slack.interaction(click)), "views.open")
    ack, calls = await school.submit(opened["view"], {"note": "Go ahead."}, user=HEADTEACHER)
    assert ack["response_action"] == "update" and calls == []  # no card to redraw: the Home tab is not a message
    assert "Go ahead." in shown(dm_to(await school.deliver(expected=1), STAFF)["blocks"])

    # Opened again, the tab no longer offers the question's buttons; staff see their own requests only.
    assert actions.QUESTION_FINE not in buttons_in((await school.home(HEADTEACHER))["blocks"])
    staff_home = await school.home(STAFF)
    assert not {actions.QUESTION_FINE, actions.REMOVAL_APPROVE} & set(buttons_in(staff_home["blocks"]))
    assert dtexts.YOUR_REQUESTS_TITLE in shown(staff_home["blocks"])


# --- 9. mrkdwn in a question -----------------------------------------------------------------------------


async def test_a_question_with_mrkdwn_reaches_the_headteacher_with_no_live_mention_or_link(school):
    # As Slack sends it: an @channel typed in the message, bold, and a link with a label.
    card = await school.question_card("Can I share this <!channel> *bold* <https://evil.example/phish|x> on Facebook?")
    sent = json.dumps(card)
    assert "<!channel>" not in sent and "evil.example" not in sent and "<https:" not in sent
    text = shown(card["blocks"])
    assert "Can I share this &lt;!channel&gt; *bold* x on Facebook?" in text
    # The only mention on the card is the one the bot made for who asked.
    assert [piece.split(">")[0] for piece in sent.split("<@")[1:]] == [STAFF]
    assert translate.plain_text(card["text"]) == dtexts.QUESTION_NOTIFICATION
