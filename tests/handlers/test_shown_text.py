"""Defusing what a person typed: host-like words stop being links, everything else reads exactly as typed."""

from handlers.shown_text import ONE_DOT_LEADER, WORD_JOINER, shown_prefix, shown_text, typed_text


def test_addresses_are_defused():
    shown = shown_text("Re-verify at https://evil.example/login or www.evil.co.uk, mail ht@evil.com")
    assert "." not in shown.replace("e.g.", "")
    assert f"https:{WORD_JOINER}//evil{ONE_DOT_LEADER}example/login" in shown
    assert f"www{ONE_DOT_LEADER}evil{ONE_DOT_LEADER}co{ONE_DOT_LEADER}uk" in shown


def test_ordinary_sentences_are_left_alone():
    text = "e.g. a 2.5 hour trip for Year 3. Then i.e. the end. Mrs. Patel said no."
    assert shown_text(text) == text


def test_defusing_twice_changes_nothing_and_typed_text_is_never_defused():
    once = shown_text("see evil.example\u202e now \ud83d mailto:head@school")
    assert shown_text(once) == once and "\u202e" not in once and "\ufffd" in once
    assert typed_text("evil.example\x07") == "evil.example"


def test_a_prefix_shown_again_is_never_longer_than_the_cut():

    shown = shown_text("<mailto:x@evil.example|mail> evil.com00 " * 40)
    for end in range(1, 200):
        prefix = shown_prefix(shown, end)
        # "evil.com0" links nowhere; "evil.com" at the end of a cut would.
        assert len(prefix) <= end and shown_text(prefix) == prefix and not prefix.endswith("evil.com")
