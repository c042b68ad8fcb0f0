"""Teams sends a card's `Action.Submit` data back from the client: the bot believes it only with its own
signature (handlers/signing.py). A doctored form or button, posted to /api/messages like any click, is
refused with a friendly text and changes nothing; the data as the bot issued it still works."""

from __future__ import annotations

import json

from handlers import actions, decision_texts, texts
from storage.models import Notification

from .test_decisions import HEAD, LABELS, count, school, shown_text  # noqa: F401 (a fixture)
from .test_flows import action_titled
from .test_reports import form_values


async def test_a_doctored_decision_form_is_refused_and_the_card_claims_nothing(school):
    card = await school.ask_the_headteacher()
    [form] = await school.press(HEAD, card, LABELS["fine"])
    data = form_values(form.card, note="Fine by me")
    # What the issue saw: the headteacher chose "Fine to post", the data sent back says "Don't post".
    doctored = {**data, "private_metadata": data["private_metadata"].replace('"fine"', '"dont_post"')}
    assert doctored != data
    [refused] = await school.click(HEAD, form.message_id, doctored)
    assert shown_text(refused) == [texts.FORM_CHANGED]
    queued = await count(school.core, Notification)
    assert await school.deliver(0) == [] and await count(school.core, Notification) == queued

    calls = await school.click(HEAD, form.message_id, data)
    assert any(decision_texts.DECISION_SENT.split("{")[0] in " ".join(shown_text(call)) for call in calls)
    [answer] = await school.deliver(1)
    assert any(LABELS["fine"] in text for text in shown_text(answer))


async def test_a_doctored_or_unsigned_button_is_refused(school):
    card = await school.ask_the_headteacher()
    data = action_titled(card.card, LABELS["talk"])["data"]
    digest, _, value = data["value"].partition(".")
    for forged in (f"{digest}.{json.dumps({'escalation': 999})}", value, "{}"):
        [refused] = await school.click(HEAD, card.message_id, {**data, "value": forged})
        assert shown_text(refused) == [texts.BUTTON_CHANGED]
    # Moved to another button, the signature no longer fits.
    [refused] = await school.click(HEAD, card.message_id, {**data, "action_id": actions.QUESTION_FINE})
    assert shown_text(refused) == [texts.BUTTON_CHANGED]
