"""Slack hands back button values and a modal's private_metadata as the client sent them: the bot believes
them only with its own signature (handlers/signing.py). Doctored ones, in signed requests to the running
adapter, are refused with a friendly text and change nothing; those the bot issued still work."""

from __future__ import annotations

import json

from slack_harness import shown
from test_slack_decisions import HEADTEACHER, School, methods, notifications, only, school, slack_api  # noqa: F401 (fixtures)

from handlers import actions
from handlers import texts


async def test_a_doctored_decision_modal_is_refused_and_changes_nothing(school: School):
    card = await school.question_card()
    modal = await school.decision_modal(card, actions.QUESTION_FINE)
    doctored = {**modal, "private_metadata": modal["private_metadata"].replace('"fine"', '"dont_post"')}
    assert doctored != modal
    ack, calls = await school.submit(doctored, {"note": "ok"}, user=HEADTEACHER)
    assert ack["response_action"] == "update" and texts.FORM_CHANGED in shown(ack["view"]["blocks"])
    assert calls == [] and await school.deliver(expected=0) == []
    assert [n.kind for n in await notifications(school.core)] == ["escalation_opened"]

    ack, calls = await school.submit(modal, {"note": "ok"}, user=HEADTEACHER)
    assert "Fine to post" in shown(ack["view"]["blocks"]) and methods(calls) == ["chat.update"]


async def test_a_doctored_button_value_is_refused(school: School):
    card = await school.question_card()
    payload = school.click(card, actions.QUESTION_TALK, user=HEADTEACHER)
    digest, _, value = payload["actions"][0]["value"].partition(".")
    payload["actions"][0]["value"] = f"{digest}.{json.dumps({'escalation': json.loads(value)['escalation'] + 1})}"
    calls = await school.api.answers_after(school.slack.interaction(payload))
    said = only(calls, "response_url")
    assert said["response_type"] == "ephemeral" and said["text"] == texts.BUTTON_CHANGED
    assert "views.open" not in methods(calls)
