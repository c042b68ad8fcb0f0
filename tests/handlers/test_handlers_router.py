import pytest

from handlers import actions
from handlers.messages import ButtonClick, FormSubmission
from handlers.router import Route, route
from handler_helpers import dm


@pytest.mark.parametrize("text", ["help", "Help!", "  HELP  ", "?", "hello"])
def test_help(text):
    assert route(dm(text)) is Route.HELP


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty(text):
    assert route(dm(text)) is Route.EMPTY


@pytest.mark.parametrize(
    "text",
    ["I want to report a parent's post", "A parent harassed me on Facebook", "My Instagram got HACKED", "I'm being trolled"],
)
def test_report_words_offer_the_report_flow(text):
    assert route(dm(text)) is Route.REPORT_OFFER


@pytest.mark.parametrize(
    "text",
    [
        "Can I post photos of the sports day?",
        "can i help the PTA page",
        "reporter asked me",
        "Can I share the Ofsted report on LinkedIn?",
        "What does the policy say about reporting?",
    ],
)
def test_plain_text_is_a_question(text):
    assert route(dm(text)) is Route.ASK


def test_clicks_and_forms():
    assert route(dm(click=ButtonClick(action_id=actions.FEEDBACK_HELPFUL))) is Route.CLICK
    assert route(dm(click=ButtonClick(action_id="someone.elses"))) is Route.CLICK  # the core says it has expired
    message = dm()
    form = type(message)(conversation=message.conversation, is_direct=True, form=FormSubmission(form_id="x", values={}))
    assert route(form) is Route.FORM


def test_button_values_stay_within_slacks_limit():
    value = actions.encode({"verdict": "not_allowed", "situation": "s", "question": '"<&>' * 5000})
    assert len(value) <= actions.MAX_VALUE_CHARS
    decoded = actions.decode(value)
    assert decoded["verdict"] == "not_allowed" and decoded["question"].endswith("…")
    assert actions.decode("not json") is None and actions.decode("[1]") is None
