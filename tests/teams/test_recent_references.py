"""A Teams conversation reference is stored again on a person's first message of each day, so the
reference purge (people silent for a year) never removes someone who still writes to a long-running server."""

from datetime import date

from bot.teams.agent import _RecentReferences
from handlers.messages import ConversationRef


def _ref() -> ConversationRef:
    return ConversationRef(platform="teams", user_id="29:staff", conversation_id="a:chat", raw={"conversation": {"id": "a:chat"}})


def test_an_unchanged_reference_is_stored_once_a_day():
    day = [date(2026, 12, 1)]
    recent = _RecentReferences(today=lambda: day[0])
    ref = _ref()
    assert recent.is_new(ref)
    recent.add(ref)
    assert not recent.is_new(ref)
    day[0] = date(2026, 12, 2)
    assert recent.is_new(ref)


def test_a_changed_reference_is_stored_at_once():
    recent = _RecentReferences(today=lambda: date(2026, 12, 1))
    recent.add(_ref())
    moved = ConversationRef(platform="teams", user_id="29:staff", conversation_id="a:chat", raw={"conversation": {"id": "a:chat"}, "serviceUrl": "https://x"})
    assert recent.is_new(moved)
