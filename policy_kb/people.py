"""The people a school's policy names for its roles ("Headteacher: Mr D. Okafor", "Mr David Ashworth,
Headteacher", "the DSL, Mrs Kelly").

A question that names the headteacher ("I've emailed Mr Okafor about it") speaks of the headteacher, whose
agreement so many rules ask for. Other people the policy names stay colleagues in a question ("the DSL"
would read as a safeguarding concern), but "who's the DSL again?" is answered with the clause that names them."""

from __future__ import annotations

import re

_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?"
# A role's own words are never a surname: "Mrs E. Carter Deputy DSL: …" names Mrs Carter.
_NOT_A_NAME = r"(?!(?:Deputy|Assistant|Head|Headteacher|Principal|Chair|Designated|Office|Executive|School)\b)"
_NAMED = re.compile(
    rf"\b(?P<title>{_TITLE})\s+(?:[A-Z]\.?\s+)*(?:{_NOT_A_NAME}[A-Z][a-z]+(?:-[A-Z][a-z]+)?\s+)?{_NOT_A_NAME}"
    rf"(?P<surname>[A-Z][a-z]+(?:[’'-][A-Z][a-z]+)?)\b"
)
# What comes before a name up to where its label starts ("…report it to the DSL, Mr Okafor": "the DSL,").
# "Concerns about the headteacher: Mrs Okafor, Chair of Governors": what the label is about is not her role.
_LABEL_START = re.compile(
    r".*(?:[.;|\n]|\b(?:to|or|about|including|tell|contact|ask|email|speak|talk|inform)\b|^)", re.IGNORECASE | re.DOTALL)
_LABEL_END = re.compile(r"(?:[:,–-]|\(|\bis\b|\bmeans\b(?: the)?[^,]*,?)\s*$", re.IGNORECASE)
# After a name: ", Headteacher", " (Deputy Headteacher)", ", is also the Designated Safeguarding Lead".
_AFTER = re.compile(r"^\s*\**\s*(?:,|\(|–|-)\s*(?!or\b|and\b)([^.;|()\n]{1,80})")
HEADTEACHER = re.compile(
    r"(?<!deputy )(?<!assistant )(?<!vice )\b(?:executive )?(?:head ?teacher|head of school|principal|headmaster|headmistress)\b",
    re.IGNORECASE)
AS_TYPED = "the headteacher"
ROLES = {
    "headteacher": HEADTEACHER,
    "dsl": re.compile(r"\bdsl\b|\bdesignated safeguarding lead\b|\bsafeguarding lead\b", re.IGNORECASE),
    "chair of governors": re.compile(r"\bchair of (?:the )?(?:governors|governing (?:body|board))\b", re.IGNORECASE),
    "data protection officer": re.compile(r"\bdpo\b|\bdata protection officer\b", re.IGNORECASE),
    "office manager": re.compile(r"\boffice manager\b|\bschool business manager\b", re.IGNORECASE),
}
# "Who's the DSL at Ferncombe again? and the deputies?": the words besides the role a question asking who holds
# it may have.
MAX_OTHER_WORDS = 5
# "Who's the DSL again?", "who is our chair of governors".
_WHO_IS = re.compile(r"\bwho(?:['’]?s| is| are)\s+(?:the|our|my)\b", re.IGNORECASE)


def people_named(texts) -> dict[str, str]:
    """Each person the policy names as its headteacher, by title and surname ("mrs carter"), as the words
    staff use for the role."""
    return {key: AS_TYPED for text in texts for key, labels in _labelled(text) if HEADTEACHER.search(labels)}


def naming_clauses(clauses) -> dict[str, object]:
    """For each role, the first clause that names the person who holds it."""
    named = {}
    for clause in clauses:
        for _, labels in _labelled(clause.text):
            for role, words in ROLES.items():
                if words.search(labels):
                    named.setdefault(role, clause)
    return named


def roles_asked_about(question: str) -> list[str]:
    """"Who's the DSL again?", "who's the DSL at Ferncombe, and the deputies?": the roles a question asks who
    holds, when that is all it asks ("who's the DSL? a pupil just told me…" is a concern to report)."""
    if not _WHO_IS.search(question):
        return []
    roles = [role for role, words in ROLES.items() if words.search(question)]
    rest = _WHO_IS.sub(" ", question)
    for role in roles:
        rest = ROLES[role].sub(" ", rest)
    return roles if len(re.findall(r"[a-z]{3,}", rest.lower())) <= MAX_OTHER_WORDS else []


def _labelled(text: str):
    """Each person a text names, with the words that label them ("Headteacher:", ", Deputy Headteacher")."""
    for found in _NAMED.finditer(text):
        before = text[:found.start()]
        label = before[_LABEL_START.match(before).end():] if _LABEL_END.search(before) else ""
        after = _AFTER.match(text[found.end():])
        yield _key(f"{found['title']} {found['surname']}"), f"{label} | {after.group(1) if after else ''}"


class RoleWords:
    """Replaces the people a policy names, as staff type them ("Mr Okafor", "mrs. carter"), with their roles."""

    def __init__(self, people: dict[str, str]):
        self._people = people
        names = "|".join(re.escape(name).replace(r"\ ", r"\.?\s+") for name in sorted(people, key=len, reverse=True))
        self._pattern = re.compile(rf"\b(?:{names})\b", re.IGNORECASE) if people else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda found: self._people[_key(found.group())], text)


def _key(typed: str) -> str:
    return " ".join(typed.replace(".", " ").lower().split())
