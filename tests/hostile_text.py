"""Hostile text for the property tests of every renderer: whatever a person could type, in every field a
neutral reply or form carries (hypothesis strategies)."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from handlers.messages import Button, Choice, ConversationRef, Fact, Form, FormField, Quote, Reply

# What an attacker (or an unlucky paste) puts in a text: pings, Slack and Markdown links, bare addresses,
# entities, direction overrides, lone surrogates, controls, emoji and right-to-left script.
HOSTILE = (
    "<!channel>", "<!here>", "<!everyone>", "<@U0HEAD>", "<#C0STAFF>", "<!subteam^S0ALL>", "@channel",
    "<https://evil.example|Re-verify>", "<https://evil.example>", "<mailto:x@evil.example|mail>",
    "[Re-verify your staff account](https://evil.example) **URGENT**", "https://evil.example/login",
    "HTTP://EVIL.EXAMPLE", "http://intranet/x", "www.evil.example", "evil.com", "ht@evil.com", "ftp://x.y",
    "&amp;", "&lt;!channel&gt;", "&#91;x&#93;(https://evil.example)", "<at>Head</at>", "&", "<", ">",
    "\u202e", "\u202d", "\u2066", "\u200f", "\u200e", "\ud800", "\udfff", "\ud83d", "\x00", "\x1b", "\x7f",
    "\r\n", "\n", "\n\n", " ", "*", "_", "~", "`", ":", "/", ".", "|", "\\", "😀", "👩‍🏫", "مرحبا بكم", "שלום",
)
PIECES = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=()), max_size=12))
SHORT = st.lists(PIECES, max_size=10).map("".join)
LONG = st.one_of(
    SHORT,
    st.tuples(st.lists(PIECES, min_size=1, max_size=5).map("".join), st.integers(1, 20_000)).map(
        lambda repeated: (repeated[0] * repeated[1])[:20_000]
    ),
)
SLACK_ID = st.sampled_from(("U0HEAD", "U0STAFF1", "W0GRID9"))
PEOPLE = st.builds(
    ConversationRef,
    platform=st.sampled_from(("slack", "teams", "terminal")),
    conversation_id=st.just("D0DM"),
    user_id=st.one_of(SLACK_ID, SHORT),
    user_name=LONG,
)
FACTS = st.builds(Fact, label=LONG, value=LONG, person=st.one_of(st.none(), PEOPLE))
# A button's value is the bot's own (a signed token a flow keeps under 2 000 characters), not typed text.
VALUES = st.text(string.ascii_letters + string.digits + '-_.:{}",', max_size=400)
BUTTONS = st.builds(Button, label=LONG, action_id=st.sampled_from(("policybot.a", "policybot.b")), value=VALUES,
                    style=st.sampled_from((None, "primary", "danger")))
CHOICES = st.lists(st.builds(Choice, value=SHORT, label=LONG), min_size=1, max_size=6).map(tuple)


@st.composite
def forms(draw) -> Form:
    """A form the way flows make them: their own words (labels, hints, intro) short but as hostile as any, and
    what a person typed (initial values) and the names of people (choices) as long as anything."""
    fields = []
    for number in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("text", "choice", "toggle", "files", "person")))
        fields.append(FormField(
            field_id=f"field_{number}", label=draw(SHORT), kind=kind,
            multiline=draw(st.booleans()), required=draw(st.booleans()),
            max_length=draw(st.sampled_from((20, 200, 2000, 5000, 10_000))),
            placeholder=draw(SHORT), hint=draw(SHORT), initial=draw(st.one_of(LONG, st.sampled_from(("true", "person:U0HEAD")))),
            choices=draw(CHOICES) if kind in ("choice", "person") else (),
        ))
    return Form(form_id="policybot.form", title=draw(SHORT), submit_label=draw(SHORT), fields=tuple(fields),
                intro=draw(SHORT), private_metadata=draw(SHORT))


@st.composite
def replies(draw, *, with_form: bool = False) -> Reply:
    form = draw(forms()) if with_form else None
    return Reply(
        text=draw(LONG), title=draw(LONG), icon=draw(st.sampled_from(("", "✅", "⛔"))),
        verdict=draw(st.sampled_from((None, "allowed", "report"))),
        quotes=tuple(draw(st.lists(st.builds(Quote, section=LONG, text=LONG), max_size=4))),
        facts=tuple(draw(st.lists(FACTS, max_size=6))),
        buttons=tuple(draw(st.lists(BUTTONS, max_size=4))),
        notification_text=draw(LONG),
        form=form,
        form_errors=tuple((field.field_id, draw(SHORT)) for field in (form.fields[:1] if form else ())),
    )
