"""Who may decide (the headteacher, or a deputy they named), and how people are named on cards.

Every decision is checked against the stored roles, whatever the button's value says: a card forwarded
to someone else, or a click replayed by them, changes nothing; and nobody decides about themselves while
another decider can.
"""

from __future__ import annotations

from handlers import actions
from handlers import decision_texts as texts
from handlers.flow import FlowContext, time_label
from handlers.messages import ConversationRef, IncomingMessage, Reply
from storage import repository as repo


async def decider_role(context: FlowContext, person: ConversationRef) -> str | None:
    held = await repo.roles_of(session=context.session, platform=person.platform, user_id=person.user_id)
    return next((role for role in repo.DECIDER_ROLES if role in held), None)


async def decider_or_refusal(context: FlowContext, message: IncomingMessage) -> tuple[repo.Actor | None, Reply | None]:
    """(the deciding actor, None), or (None, the reply saying they may not decide)."""
    role = await decider_role(context, message.conversation)
    if role is None:
        return None, Reply(text=texts.NOT_A_DECIDER.format(headteacher=context.headteacher), private=True)
    return actor_of(message, role), None


async def leaves_it_to_another(context: FlowContext, person: ConversationRef, *, platform: str | None, user_id: str | None) -> bool:
    """Whether `person` must leave this decision to another decider: it is about them (they asked the
    question, it is their post) and someone else can decide it. With nobody else, it waits for no one."""
    if not user_id or (platform, user_id) != (person.platform, person.user_id):
        return False
    for role in repo.DECIDER_ROLES:
        for holder in await repo.list_role_holders(session=context.session, role=role):
            if (holder.platform, holder.user_id) != (person.platform, person.user_id):
                return True
    return False


def actor_of(message: IncomingMessage, role: str) -> repo.Actor:
    person = message.conversation
    return repo.Actor(role=role, platform=person.platform, user_id=person.user_id)


async def name_of(context: FlowContext, person: ConversationRef) -> str:
    """The name to show for someone acting: the name they were given with `policybot roles`, else the
    platform's display name, else their role's name."""
    named = await repo.display_name_of(session=context.session, platform=person.platform, user_id=person.user_id)
    return named or person.user_name


def person_ref(platform, user_id, name) -> ConversationRef | None:
    """Someone stored by platform and id, for a card to show the platform's way (None when unknown)."""
    if not platform or not user_id:
        return None
    return ConversationRef(platform=platform, conversation_id="", user_id=user_id, user_name=name or "")


def asker_name(name: str, *, start: bool = True) -> str:
    return name or (texts.SOMEONE if start else texts.SOMEONE_LOWER)


def when(names, moment) -> str:
    """`names`: the flow's RoleNames, which carry the school's clock."""
    return time_label(moment, timezone=names.timezone)


def number_in(value: str, key: str) -> int | None:
    """The id a button or form carries under `key`, or None when it is not one we made."""
    data = actions.decode(value) or {}
    number = data.get(key)
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None
