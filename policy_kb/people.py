"""The headteacher, as the school's policy names them ("Headteacher: Mr D. Okafor", "Mr David Ashworth,
Headteacher", "the headteacher, Mr G. Osei,"): a question that names them ("I've emailed Mr Okafor about it")
speaks of the headteacher, whose agreement so many rules ask for. Other people the policy names (the DSL, the
office manager) stay colleagues: "the DSL" would read as a safeguarding concern."""

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
_DEPUTY = r"(?<!deputy )(?<!assistant )(?<!vice )"
HEADTEACHER = re.compile(
    r"(?<!deputy )(?<!assistant )(?<!vice )\b(?:executive )?(?:head ?teacher|head of school|principal|headmaster|headmistress)\b",
    re.IGNORECASE)
AS_TYPED = "the headteacher"


def people_named(texts) -> dict[str, str]:
    """Each person the policy names as its headteacher, by title and surname ("mrs carter"), as the words
    staff use for the role."""
    people = {}
    for text in texts:
        for found in _NAMED.finditer(text):
            before = text[:found.start()]
            label = before[_LABEL_START.match(before).end():] if _LABEL_END.search(before) else ""
            after = _AFTER.match(text[found.end():])
            if HEADTEACHER.search(label) or (after and HEADTEACHER.search(after.group(1))):
                people[_key(f"{found['title']} {found['surname']}")] = AS_TYPED
    return people


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
