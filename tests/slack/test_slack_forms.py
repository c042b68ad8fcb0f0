"""Forms on Slack, without the conversation flows: every field kind as a modal input, every input
element back as a neutral value, message ids, and where a message can show a form."""

from __future__ import annotations

import json

import pytest
from slack_harness import click_payload, fixture, home_click_payload, submission_payload

from bot.slack import app, notify, render, translate
from handlers import actions
from handlers.messages import PERSON_PREFIX, Button, Choice, ConversationRef, Fact, Form, FormField, Reply

KINDS = (
    Choice(value="harassment_me", label="Harassment of me"),
    Choice(value="colleague", label="Harassment of a colleague"),
    Choice(value="account", label="A school account compromised"),
    Choice(value="other", label="Something else"),
)


def report_form(**changes) -> Form:
    fields = (
        FormField(field_id="what_happened", label="What happened?", multiline=True, max_length=10_000,
                  placeholder="p" * 200, hint="You can add more afterwards.", initial="It started on Monday"),
        FormField(field_id="kind", label="What is it about?", kind="choice", choices=KINDS, initial="account"),
        FormField(field_id="link", label="Link", required=False, placeholder="https://…"),
        FormField(field_id="about_headteacher", label="It concerns the headteacher", kind="toggle"),
        FormField(field_id="with_name", label="Send it with my name", kind="toggle", initial="true", required=False),
        FormField(field_id="evidence", label="Screenshots", kind="files", required=False,
                  hint="Slack keeps its own copy of an upload, under your name."),
    )
    return Form(form_id="report", title="Make an anonymous report to the school", submit_label="Send report",
                fields=fields, intro="Only the right person sees this. <!channel>", private_metadata="{}", **changes)


def inputs(view: dict) -> dict[str, dict]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def test_every_field_kind_becomes_its_input():
    view = render.modal(report_form())
    assert view["type"] == "modal" and view["callback_id"] == "report"
    assert len(view["title"]["text"]) <= render.MODAL_TITLE_MAX
    assert view["submit"]["text"] == "Send report" and view["close"]["text"]
    assert view["blocks"][0]["text"]["text"] == "Only the right person sees this. &lt;!channel&gt;"
    blocks = inputs(view)
    assert list(blocks) == ["what_happened", "kind", "link", "about_headteacher", "with_name", "evidence"]
    for field_id, block in blocks.items():
        assert block["element"]["action_id"] == field_id  # form_submission relies on it

    text = blocks["what_happened"]
    assert text["optional"] is False and text["hint"]["text"] == "You can add more afterwards."
    assert text["element"] == {
        "type": "plain_text_input", "action_id": "what_happened", "multiline": True, "max_length": 3000,
        "initial_value": "It started on Monday",
        "placeholder": {"type": "plain_text", "text": "p" * 149 + "…", "emoji": True},
    }
    assert blocks["link"]["optional"] is True and "hint" not in blocks["link"]

    choice = blocks["kind"]["element"]
    assert choice["type"] == "static_select"
    assert [(option["value"], option["text"]["text"]) for option in choice["options"]] == [(c.value, c.label) for c in KINDS]
    assert choice["initial_option"] == {"text": {"type": "plain_text", "text": "A school account compromised", "emoji": True}, "value": "account"}

    unticked, ticked = blocks["about_headteacher"], blocks["with_name"]
    assert unticked["element"]["type"] == "checkboxes" and "initial_options" not in unticked["element"]
    assert unticked["element"]["options"] == [{"text": {"type": "plain_text", "text": "It concerns the headteacher", "emoji": True}, "value": "true"}]
    assert ticked["element"]["initial_options"] == ticked["element"]["options"]
    # An unticked box is an answer, so Slack must not refuse it as "required".
    assert unticked["optional"] is True

    files = blocks["evidence"]
    assert files["element"] == {"type": "file_input", "action_id": "evidence",
                                "filetypes": ["png", "jpg", "jpeg", "gif", "webp", "heic"], "max_files": 5}
    assert files["hint"]["text"].startswith("Slack keeps")


def test_a_choice_whose_initial_value_is_not_offered_starts_empty():
    form = Form(form_id="f", title="T", submit_label="S",
                fields=(FormField(field_id="kind", label="Kind", kind="choice", choices=KINDS, initial="nope"),))
    assert "initial_option" not in inputs(render.modal(form))["kind"]["element"]


def test_modal_limits():
    long = Form(form_id="f", title="T" * 100, submit_label="S" * 100, intro="x " * 20_000,
                fields=tuple(FormField(field_id=f"f{n}", label="L" * 3000) for n in range(60)))
    view = render.modal(long)
    assert len(view["blocks"]) <= render.MODAL_BLOCKS_MAX
    assert len(inputs(view)) == 60  # the inputs are kept, the text above them gives way
    assert len(view["title"]["text"]) <= 24 and len(view["submit"]["text"]) <= 24
    assert all(len(block["label"]["text"]) <= render.INPUT_LABEL_MAX for block in inputs(view).values())
    with pytest.raises(ValueError):
        render.modal(Form(form_id="f", title="T", submit_label="S", fields=(), private_metadata="m" * 3001))


def test_an_answer_shown_in_the_form_has_a_close_button_only():
    reply = Reply(text="Your case code is K7QP-3XMD", title="Report received, thank you",
                  buttons=(Button(label="Check on it", action_id="policybot.status"),), in_form=True)
    view = render.form_view(reply)
    assert view["type"] == "modal" and "submit" not in view and view["close"]["text"]
    assert view["title"]["text"] == "Report received, thank …"
    assert view["blocks"] == render.blocks(reply)
    assert "K7QP-3XMD" in json.dumps(view["blocks"])
    # No title anywhere: Slack still needs one.
    assert render.form_view(Reply(text="x", in_form=True))["title"]["text"]


def test_an_answer_with_a_follow_up_form_shows_the_answer_above_its_inputs():
    reply = Reply(text="Code and secret did not match.", form=report_form(), in_form=True)
    view = render.form_view(reply)
    assert view["submit"]["text"] == "Send report" and view["callback_id"] == "report"
    kinds = [block["type"] for block in view["blocks"]]
    assert kinds[0] == "section" and "did not match" in view["blocks"][0]["text"]["text"]
    assert kinds.index("input") > 1 and set(kinds[kinds.index("input"):]) == {"input"}


def test_notification_text_replaces_the_fallback_everywhere():
    reply = Reply(text="Kind: harassment. Summary: a parent…", title="New report K7QP-3XMD",
                  notification_text="A new report needs your attention <!here>")
    assert render.message(reply)["text"] == "A new report needs your attention &lt;!here&gt;"
    plain = Reply(text="body", title="T")
    assert render.message(plain)["text"] == render.fallback_text(plain)


def person_form() -> Form:
    return Form(form_id="removal", title="Ask for a removal", submit_label="Send", fields=(
        FormField(field_id="poster", label="Who posted it?", kind="person", placeholder="Choose someone",
                  initial="person:U0TEACHER2", choices=(Choice(value="person:U0TEACHER3", label="Mr Jones"),)),
        FormField(field_id="also_tell", label="Anyone else to tell?", kind="person", required=False, initial="Mr Jones"),
        FormField(field_id="why", label="Why?", required=False),
    ))


def test_a_person_field_is_a_people_picker():
    blocks = inputs(render.modal(person_form()))
    poster, also_tell = blocks["poster"], blocks["also_tell"]
    assert poster["optional"] is False and also_tell["optional"] is True
    # Slack has its own people picker: the flow's choices (for platforms without one) are not offered.
    assert poster["element"] == {
        "type": "users_select", "action_id": "poster", "initial_user": "U0TEACHER2",
        "placeholder": {"type": "plain_text", "text": "Choose someone", "emoji": True},
    }
    # A name, not a Slack user id: the picker starts empty.
    assert also_tell["element"] == {"type": "users_select", "action_id": "also_tell"}
    def initial_user(initial: str):
        return render.input_block(FormField(field_id="p", label="P", kind="person", initial=initial))["element"].get("initial_user")

    for not_a_user in ("", "person:", "u0lower", "C0STAFFROOM", "person:C0STAFFROOM", "<@U0HEAD>", "U0HEAD extra", "person:Mr Jones"):
        assert initial_user(not_a_user) is None
    assert (initial_user("person:W0GRIDUSER1"), initial_user("U0HEAD")) == ("W0GRIDUSER1", "U0HEAD")


def test_a_chosen_person_is_submitted_as_their_user_id_and_nobody_as_empty():
    view = render.modal(person_form())
    chosen = translate.form_submission(submission_payload(view, {"poster": "U0TEACHER2", "also_tell": "U0HEAD", "why": "x"}))
    assert chosen.form.values == {"poster": "person:U0TEACHER2", "also_tell": "person:U0HEAD", "why": "x"}
    assert chosen.form.values["poster"] == f"{PERSON_PREFIX}U0TEACHER2"
    nobody = translate.form_submission(submission_payload(view, {}))
    assert nobody.form.values == {"poster": "", "also_tell": "", "why": ""}


def test_home_view():
    view = render.home_view([Reply(text="Make a report", buttons=(Button(label="Report", action_id="a"),))])
    assert view["type"] == "home" and view["blocks"][-1]["type"] == "actions"
    assert render.home_view([]) == {"type": "home", "blocks": []}


def test_the_home_view_shows_every_reply_between_dividers():
    greeting = Reply(text="Hello, Jo", title="policybot", buttons=(Button(label="Make a report", action_id="a"),))
    item = Reply(text="Your question about the trip photos: waiting for Mrs Patel",
                 buttons=(Button(label="Remind", action_id="b", value="{\"id\":1}"),))
    view = render.home_view([greeting, Reply(text=""), item])
    assert view["blocks"] == [*render.blocks(greeting), {"type": "divider"}, *render.blocks(item)]
    assert {"a", "b"} <= {element["action_id"] for block in view["blocks"] if block["type"] == "actions" for element in block["elements"]}


def test_a_home_view_over_slacks_limit_drops_whole_replies_from_the_end():
    items = [Reply(text=f"Item {n}", facts=tuple(Fact(label=f"L{m}", value="v") for m in range(n % 3 * 10)),
                   buttons=(Button(label="Open", action_id=f"item{n}"),)) for n in range(60)]
    view = render.home_view(items)
    shown = view["blocks"]
    assert len(shown) <= render.HOME_BLOCKS_MAX
    assert shown[-1]["type"] == "context" and "dashboard" in shown[-1]["elements"][0]["text"]
    kept = sum(1 for block in shown if block["type"] == "actions")
    assert 0 < kept < len(items)
    # The replies kept are the first ones, each whole and in order.
    expected = [block for n, item in enumerate(items[:kept]) for block in ([{"type": "divider"}] if n else []) + render.blocks(item)]
    assert shown[:-1] == expected
    # Exactly 100 blocks: a title and a text, then 49 texts, each after a divider. All shown, no closing line.
    full = [Reply(text="Item 0", title="Yours"), *(Reply(text=f"Item {n}") for n in range(1, 50))]
    assert len(render.home_view(full)["blocks"]) == 100 and render.home_view(full)["blocks"][-1]["text"]["text"] == "Item 49"
    # One more reply: the last two give way to the closing line.
    over = render.home_view([*full, Reply(text="Item 50")])["blocks"]
    assert len(over) == 99 and over[-2]["text"]["text"] == "Item 48" and over[-1]["type"] == "context"


# --- translate ------------------------------------------------------------------------------------------


async def test_a_submitted_report_becomes_neutral_values_and_files():
    fetched = []

    async def fetch_file(url: str) -> bytes:
        fetched.append(url)
        return b"PNG"

    body = fixture("view_submission_report.json")
    message = translate.form_submission(body, fetch_file=fetch_file)
    form = message.form
    assert form.form_id == "report" and form.private_metadata == ""
    assert form.values == {
        "what_happened": body["view"]["state"]["values"]["what_happened"]["what_happened"]["value"],
        "kind": "harassment_me",
        "where": "Facebook",
        "link": "",
        "who": "A parent of a pupil in Year 4",
        "when": "Since last Monday",
        "about_headteacher": "false",
        "with_name": "true",
    }
    [screenshot] = form.files
    assert (screenshot.name, screenshot.mimetype, screenshot.size) == ("IMG_2041.png", "image/png", 70)
    # Nothing of Slack's own (file id, addresses, uploader) reaches a flow.
    shown = repr(message) + json.dumps(form.values)
    for slack_only in ("F0SCREEN01", "files.slack.com", "url_private"):
        assert slack_only not in shown
    assert await screenshot.fetch() == b"PNG"
    assert fetched == ["https://files.slack.com/files-pri/T0SCHOOL1-F0SCREEN01/download/img_2041.png"]

    assert message.is_direct and message.form_here and not message.private
    assert message.conversation.conversation_id == message.conversation.user_id == "U0TEACHER1"
    assert message.event_id.startswith("view:")


async def test_unchosen_inputs_and_files_without_a_download_address():
    body = fixture("view_submission_report.json")
    values = body["view"]["state"]["values"]
    values["kind"]["kind"]["selected_option"] = None
    values["where"]["where"] = {"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": "X"}, "value": "x"}}
    [entry] = values["evidence"]["evidence"]["files"]
    del entry["url_private_download"]
    urls = []

    async def fetch_file(url):
        urls.append(url)
        return b""

    form = translate.form_submission(body, fetch_file=fetch_file).form
    assert "kind" not in form.values and form.values["where"] == "x"
    await form.files[0].fetch()
    assert urls == ["https://files.slack.com/files-pri/T0SCHOOL1-F0SCREEN01/img_2041.png"]
    values["evidence"]["evidence"]["files"] = []
    assert translate.form_submission(body, fetch_file=fetch_file).form.files == ()


def test_forms_can_be_shown_where_there_is_a_trigger():
    assert translate.slash_command(fixture("command_policy.json")).form_here
    assert translate.message_shortcut(fixture("shortcut_message_action.json")).form_here
    button = {"action_id": "policybot.start_report", "value": "{}", "text": {"type": "plain_text", "text": "Report"}}
    assert translate.button_click(click_payload(button=button, response_url="https://hooks.slack.com/x")).form_here
    assert not translate.direct_message(fixture("event_message_im.json"), bot_user_id="U0POLICYBOT").form_here
    assert not translate.mention(fixture("event_app_mention.json"), bot_user_id="U0POLICYBOT").form_here


def test_a_click_on_a_message_names_the_message_with_its_channel():
    button = {"action_id": "policybot.start_report", "value": "{}", "text": {"type": "plain_text", "text": "Report"}}
    message = translate.button_click(click_payload(button=button, response_url="https://hooks.slack.com/x"))
    assert message.click.message_id == "D0BOTDM01:1760000001.000900"
    assert translate.split_message_id(message.click.message_id, default_channel="U0TEACHER1") == ("D0BOTDM01", "1760000001.000900")
    assert translate.split_message_id("1760000001.000900", default_channel="U0TEACHER1") == ("U0TEACHER1", "1760000001.000900")


@pytest.mark.parametrize("modal", [False, True], ids=["home tab", "modal"])
def test_a_click_in_the_home_tab_or_a_modal_is_answered_in_the_dm(modal):
    message = translate.button_click(home_click_payload(action_id="policybot.start_report", value="{}", modal=modal))
    assert message.conversation.conversation_id == message.conversation.user_id == "U0TEACHER1"
    assert message.is_direct and not message.private and message.form_here and message.trigger_id
    assert message.click.action_id == "policybot.start_report" and message.click.message_id is None


def test_the_home_tab_opened():
    ref = translate.home_opened(fixture("event_app_home_opened.json"))
    assert (ref.platform, ref.conversation_id, ref.user_id) == ("slack", "U0TEACHER1", "U0TEACHER1")
    messages_tab = fixture("event_app_home_opened.json")
    messages_tab["event"]["tab"] = "messages"
    assert translate.home_opened(messages_tab) is None


async def test_a_screenshot_shared_in_the_dm_is_an_attached_file():
    body = fixture("event_message_im.json")
    body["event"].update(subtype="file_share", text="add evidence to K7QP-3XMD")
    [entry] = fixture("view_submission_report.json")["view"]["state"]["values"]["evidence"]["evidence"]["files"]
    body["event"]["files"] = [entry, {"id": "F0NOURL", "name": "x.png"}]

    async def fetch_file(url):
        return url.encode()

    message = translate.direct_message(body, bot_user_id="U0POLICYBOT", fetch_file=fetch_file)
    [screenshot] = message.files
    assert message.text == "add evidence to K7QP-3XMD" and screenshot.mimetype == "image/png"
    assert (await screenshot.fetch()).endswith(b"/download/img_2041.png")
    assert translate.direct_message(fixture("event_message_im.json"), bot_user_id="U0POLICYBOT").files == ()


def test_interactions_carry_the_slack_username_events_do_not():
    assert translate.form_submission(fixture("view_submission_report.json")).conversation.user_name == "j.smith"
    assert translate.slash_command(fixture("command_policy.json")).conversation.user_name == "j.smith"
    assert translate.button_click(home_click_payload(action_id="a")).conversation.user_name == "j.smith"
    assert translate.direct_message(fixture("event_message_im.json"), bot_user_id=None).conversation.user_name == ""


# --- "Ask for this to be removed" ----------------------------------------------------------------------


def test_the_removal_shortcut_is_a_neutral_click_with_the_message():
    body = fixture("shortcut_removal.json")
    message = translate.removal_request(body)
    assert message.click.action_id == actions.REMOVAL_START and message.click.message_id == ""
    assert actions.decode(message.click.value) == {
        # As the person saw it: Slack's escaping undone (the renderer escapes it again on the way out).
        "text": "Here's the class photo from today's trip <3 all 28 of them by the museum steps <@U0HEAD>",
        "link": "https://greenfield-primary.slack.com/archives/C0STAFFROOM/p1760000250000400",
        "poster_platform": "slack",
        "poster_user_id": "U0TEACHER2",
    }
    # Whoever pressed it, in the channel it was pressed in; answered only to them, and a modal can open.
    ref = message.conversation
    assert (ref.platform, ref.conversation_id, ref.user_id, ref.thread_id, ref.user_name) == ("slack", "C0STAFFROOM", "U0TEACHER1", None, "j.smith")
    assert ref.raw == {"team_id": "T0SCHOOL1", "channel": "C0STAFFROOM", "user": "U0TEACHER1"}
    assert message.trigger_id == body["trigger_id"] and message.form_here
    assert message.private and not message.is_direct and message.text == ""
    assert message.event_id == f"shortcut:{body['trigger_id']}"


def test_the_removal_shortcut_on_an_apps_post_in_a_thread():
    value = actions.decode(translate.removal_request(fixture("shortcut_removal_bot_message.json")).click.value)
    assert value["poster_user_id"] == "" and value["poster_platform"] == "slack"
    assert value["link"] == ("https://greenfield-primary.slack.com/archives/C0STAFFROOM/p1760000380000500"
                             "?thread_ts=1760000100.000200&cid=C0STAFFROOM")
    # A post by an app with its own bot user carries both a user and a bot id: still nobody's.
    body = fixture("shortcut_removal.json")
    body["message"].update(bot_id="B0OTHERAPP", app_id="A0OTHERAPP", user="U0OTHERBOT")
    assert actions.decode(translate.removal_request(body).click.value)["poster_user_id"] == ""


def test_the_removal_shortcut_keeps_at_most_1500_characters_of_the_text():
    body = fixture("shortcut_removal.json")
    body["message"]["text"] = "word " * 1000
    value = actions.decode(translate.removal_request(body).click.value)
    assert len(value["text"]) == translate.REMOVAL_TEXT_MAX and value["text"].endswith("…")
    body["team"].pop("domain")
    assert actions.decode(translate.removal_request(body).click.value)["link"] == ""


def test_the_manifest_has_both_message_shortcuts_the_app_listens_for():
    from pathlib import Path

    manifest = (Path(__file__).resolve().parents[2] / "slack" / "manifest.yml").read_text(encoding="utf-8")
    shortcuts = manifest.split("  shortcuts:\n", 1)[1].split("\noauth_config:", 1)[0]
    fields = [dict(line.strip().split(": ", 1) for line in entry.strip().splitlines()) for entry in shortcuts.split("    - ")[1:]]
    assert {(f["name"], f["type"], f["callback_id"]) for f in fields} == {
        ("Can I post this?", "message", app.SHORTCUT_CALLBACK_ID),
        ("Ask for this to be removed", "message", actions.REMOVAL_START),
    }
    assert app.REMOVAL_CALLBACK_ID == actions.REMOVAL_START == "policybot.removal_start"
