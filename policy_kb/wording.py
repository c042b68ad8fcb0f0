"""What a policy sentence decides, read from its wording: "must not" forbids, "with the headteacher's
agreement" asks first, "report to" is a report, "may" permits.

Policies state a rule with a condition attached ("must not … unless the friendship came first and has been
declared"): a prohibition with a way through it is a "check with the headteacher", with the condition kept
in the quote. A bullet often takes its wording from the line that introduces its list ("Staff must not:")."""

from __future__ import annotations

import re

from policy_kb.answer import Verdict

_FORBIDS = re.compile(
    r"\b(?:must|should|shall|may|will|can|could|are|is|do|does)\s*(?:not|n[o']t)\b|\bcannot\b|\bnever\b|\bnot (?:be )?"
    r"(?:permitted|allowed|acceptable|appropriate|tolerated)\b|\b(?:prohibited|forbidden|banned|unacceptable|inappropriate)\b"
    r"|\bno (?:member of staff|employee|staff|one)\b|\brefrain from\b|\bunder no circumstances\b|\bat no time\b"
    r"|\b(?:is|are) not to\b|\bavoid\b|\bdon[’']t\b|^\s*(?:not|never|no)\b",
    re.IGNORECASE,
)
# "is not intended to prevent", "nothing in this policy stops": a negation that permits.
_NOT_PREVENTING = re.compile(
    r"\bnot (?:intended |meant |designed )?(?:to )?(?:prevent|stop|restrict|discourage)\w*\b|\bnothing in this policy\b"
    r"|\b(?:do|does|will) not (?:need|require|have to)\b|\bno need (?:to|for)\b"
    # "No one is expected to reply outside working hours": a duty lifted, nothing forbidden.
    r"|\b(?:is|are) not (?:expected|required|obliged) to\b|\b(?:no one|nobody|no member of staff) is (?:expected|required|obliged) to\b",
    re.IGNORECASE,
)
_ASKS_FIRST = re.compile(
    r"\b(?:unless|except|without)\b[^.;]{0,140}\b(?:agree\w*|approv\w*|permission|consent\w*|authori[sz]\w*|declar\w*|sanction\w*)"
    r"|\b(?:prior|written|express|explicit) (?:approval|agreement|permission|consent|authori[sz]ation)\b"
    r"|\bwith the (?:[\w’']+ ){0,3}(?:approval|agreement|permission|consent|authori[sz]ation)\b"
    r"|\b(?:seek|obtain|get|ask for|request)\w* (?:[\w’']+ ){0,3}(?:approval|agreement|permission|consent|advice|guidance)\b"
    r"|\b(?:ask|asking|tell|telling) (?:the |your |a )?(?:executive |exec )?(?:head\w*|principal|line manager|manager)\b(?: first| before)?"
    r"|\b(?:check|discuss|speak|talk) (?:[\w’']+ ){0,2}with (?:the |their |your |a )?(?:[\w’']+ ){0,2}(?:head|principal|manager|line manager|senior)"
    r"|\bmust be (?:declared|agreed|approved|authori[sz]ed|cleared|signed off)\b|\b(?:should|must) (?:be )?declare"
    r"|\bonly (?:with|after|once|when|where|if)\b[^.;]{0,120}\b(?:approv\w*|agree\w*|permission|consent\w*|authori[sz]\w*|declar\w*)"
    r"|\b(?:approved|authori[sz]ed|agreed) (?:in advance |beforehand )?by (?:the )?(?:head|principal|governor|senior|trust)"
    r"|\bif (?:in doubt|unsure|uncertain|you are unsure|you are not sure)\b|\b(?:are|is) (?:uncertain|unsure|concerned)\b"
    r"|\b(?:once|provided|providing|as long as|so long as|on condition)\b[^.;]{0,120}\b(?:declared|approved|agreed|authori[sz]ed|permission|knows|aware|told|informed)\b",
    re.IGNORECASE,
)
_REPORTS = re.compile(
    r"\b(?:report\w*|inform\w*|notify\w*|tell|alert|refer\w*|escalat\w*|raise\w*|contact|pass (?:it |this |them )?on)\b"
    r"[^.;]{0,80}\b(?:head\w*|principal|manager|dsl|designated|safeguarding|governor\w*|data protection officer|dpo|police|senior|leader\w*)\b"
    r"|\bmust be reported\b|\bshould be reported\b|\bwill be reported\b|\breport (?:it|this|any|all|them) (?:immediately|at once|promptly|straight away|without delay)",
    re.IGNORECASE,
)
_PERMITS = re.compile(
    r"\b(?:may|can|are free to|is free to|are welcome to|is welcome to|are encouraged to|is encouraged to|are entitled to|is entitled to)"
    r"\s+(?!be\s+(?:subject|disciplin|investigat|liable|treated|regarded|considered|seen|used\s+as|taken|monitored|reported))"
    r"(?!result|lead|constitute|amount|breach|cause|damage|bring|affect|face|need|wish|want|also be)"
    r"|\b(?:is|are) (?:permitted|allowed|acceptable|fine)\b|\bthere is no objection\b|\bwelcome(?:s)? staff\b"
    # "Personal use is limited to breaks": allowed, within what it is limited to.
    r"|\b(?:is|are|be) (?:limited|restricted|confined) to\b"
    # The line that introduces a list of what staff may do ("Staff may:", "You can:").
    r"|\b(?:may|can)\s*:\s*$"
    # A cell of an "Acceptable" column (document._table_lines); a "Do" column is a duty, not a permission.
    r"|^(?:acceptable|allowed|permitted):",
    re.IGNORECASE,
)
# "Refusing to remove it is a separate breach": what the policy counts as a breach is forbidden.
_COUNTS_AS_BREACH = re.compile(
    r"\b(?:is|are|will be|would be|counts? as|amounts? to|constitutes?)\s+(?:a |an )?(?:separate |further |serious |potential )?"
    r"(?:breach|misconduct|gross misconduct|disciplinary (?:matter|offence))\b",
    re.IGNORECASE,
)
# "The federation may monitor devices": what the school may do is no permission for staff.
_ORGANISATION_MAY = re.compile(
    r"\b(?:school|academy|trust|federation|council|governing (?:board|body)|governors|diocese|employer|local authority)"
    r"(?:[’']s)?\s+(?:may|can|is entitled to|reserves the right)\b",
    re.IGNORECASE,
)
_STAFF_MAY = re.compile(r"\b(?:staff|you|employees?|colleagues|members? of staff|teachers|volunteers)\s+(?:may|can|are free to|are welcome to)\b", re.IGNORECASE)
# "Staff may be subject to disciplinary action": a consequence, not a permission.
_CONSEQUENCE = re.compile(r"\b(?:disciplinary|misconduct|dismissal|sanction|investigation)\b", re.IGNORECASE)


# "Staff may hold political views, but must not …": each part of such a sentence is a rule of its own.
TURN = re.compile(r",?\s+but\s+|;\s*however,?\s+|\.\s+however,?\s+", re.IGNORECASE)


def parts_of(sentence: str) -> list[str]:
    return [part for part in TURN.split(sentence) if part.strip()]


def decided_by(sentence: str, *, lead_in: str = "") -> Verdict | None:
    """The verdict the sentence's wording gives, or None when it states no rule. The lead-in ("Staff must
    not:") speaks for a bullet that has no wording of its own."""
    own = _wording(sentence)
    if own is not None or not lead_in:
        return own
    inherited = _wording(lead_in)
    if inherited is Verdict.NOT_ALLOWED and _ASKS_FIRST.search(sentence):
        return Verdict.ASK_HEADTEACHER
    return inherited


# "Phones may be used only in the staffroom at lunchtime": a permission that holds in some cases only;
# "…posts from the school's accounts, which are approved…" describes the posts: no limit on the staff.
_LIMITED = re.compile(r"\bonly\b|\b(?:limited|restricted|confined) to\b|(?<!which are )(?<!that are )(?<!which have been )\bapproved\b|\bprovided\b|\bproviding\b|\bas long as\b|\bso long as\b|\bif\b|\bwhere\b|\bwhen\b", re.IGNORECASE)


def _wording(text: str) -> Verdict | None:
    if text.rstrip().endswith("?"):
        return None  # "Can I be friends with a parent I knew before?": a question a quick guide answers next, no rule
    if _ASKS_FIRST.search(text):
        return Verdict.ASK_HEADTEACHER
    if _NOT_PREVENTING.search(text):
        return Verdict.ALLOWED
    if (_FORBIDS.search(text) or _COUNTS_AS_BREACH.search(text)) and not _negated_only_in_its_condition(text):
        return Verdict.NOT_ALLOWED
    if _REPORTS.search(text):
        return Verdict.REPORT
    if _ORGANISATION_MAY.search(text) and not _STAFF_MAY.search(text):
        return None
    if _PERMITS.search(text) and not _CONSEQUENCE.search(text):
        # Whether a question meets the permission's limits is for the headteacher to say, not a guess.
        return Verdict.ASK_HEADTEACHER if _LIMITED.search(text) else Verdict.ALLOWED
    return None


# The condition a rule is put under ("…provided no children are present", "Where a pupil is a relative, …").
_CONDITION = re.compile(r"\b(?:provided|providing|as long as|so long as|when|whenever|where|if|once|whilst|while)\b", re.IGNORECASE)
# "…when you are not responsible for children", "…provided it does not interfere with their duties": a state
# a condition describes, not a prohibition.
_STATE_NEGATION = re.compile(r"^(?:(?:are|is|do|does)\s*(?:not|n[o']t)|not|no)\b", re.IGNORECASE)


def _negated_only_in_its_condition(text: str) -> bool:
    """Whether every negation in the sentence describes the condition its rule is put under, none the rule itself:
    "Staff may use their phones in the staff room when they are not responsible for children"."""
    opening = _CONDITION.match(text.strip())
    body = text.strip()
    if opening:
        # A condition opening the sentence runs to its comma: the rule follows.
        comma = body.find(",", opening.end())
        if comma < 0:
            return False
        condition, rest = body[:comma], body[comma + 1:]
        if any(not _STATE_NEGATION.match(m.group(0)) for m in _FORBIDS.finditer(condition)):
            return False
        body = rest
    later = _CONDITION.search(body)
    rule, condition = (body[:later.start()], body[later.start():]) if later else (body, "")
    if _FORBIDS.search(rule) or _COUNTS_AS_BREACH.search(rule) or _COUNTS_AS_BREACH.search(condition):
        return False
    return all(_STATE_NEGATION.match(found.group(0)) for found in _FORBIDS.finditer(condition)) and (
        bool(opening) or bool(later)
    )


_EXCEPTION = re.compile(r"\b(?:unless|except|provided|providing|as long as|so long as|once|until)\b", re.IGNORECASE)


def grants_within_limits(sentence: str) -> bool:
    """A permission ("may … only in the staffroom") or an exception ("must not … unless declared"): what it
    allows depends on where, when, who and with whose agreement; "must ask the headteacher first" does not."""
    return bool(_EXCEPTION.search(sentence) or (_PERMITS.search(sentence) and not _CONSEQUENCE.search(sentence)))


# Words that attach a condition or an exception to a rule ("other than those they line-manage").
_CONDITIONED = re.compile(
    r"\b(?:only|once|provided|providing|as long as|so long as|unless|except|other than|apart from|but|however|"
    r"never|not|until|after|before|if|when|where|whilst|while)\b", re.IGNORECASE)


# "…, provided that they do so responsibly": a manner asked of staff, no case the yes leaves out.
_ONLY_A_MANNER = re.compile(
    r",?\s*\b(?:provided|providing|as long as|so long as)(?: that)? (?:they|you|staff|employees)(?: do so| act| behave)? "
    r"(?:responsibly|sensibly|appropriately|professionally|safely|with care|with common sense)\b", re.IGNORECASE)


def has_condition(sentence: str) -> bool:
    """Whether the sentence attaches any condition or exception to its rule: such a yes is no plain yes."""
    return _CONDITIONED.search(_ONLY_A_MANNER.sub("", sentence)) is not None


def forbids(sentence: str) -> bool:
    """Whether the sentence words a prohibition ("must not", "never"), whatever way through it gives."""
    return bool(_FORBIDS.search(sentence)) and not _NOT_PREVENTING.search(sentence) and not _negated_only_in_its_condition(sentence)


# What a permission leaves out ("…at any time, except when you are on duty", "…in the staffroom, not in classrooms").
_LEAVING_OUT = re.compile(
    r"\b(?:except|unless|other than|apart from|excluding|but)\b|\bnot (?=(?:in|on|at|during|while|when|where|if)\b)",
    re.IGNORECASE)


def permitted_part(sentence: str) -> tuple[str, bool]:
    """What a permission allows, up to what it leaves out, and whether it leaves anything out: the places and
    times after "except" are where it does not hold."""
    found = _LEAVING_OUT.search(sentence)
    return (sentence[:found.start()], True) if found else (sentence, False)


def conditions_of_what_it_does_not_prevent(sentence: str) -> str | None:
    """"Nothing in this policy is intended to stop staff sharing holiday photographs, provided they do so
    responsibly": what it does not prevent is the act, whatever it names; only its condition limits it
    ("" when it sets none). None for a sentence of another kind."""
    if not _NOT_PREVENTING.search(sentence):
        return None
    conditions = _ONLY_A_MANNER.sub("", sentence)
    found = _CONDITION.search(conditions)
    return conditions[found.start():] if found else ""


def exception_part(sentence: str) -> str:
    """What follows the word that opens a rule's exception ("unless the headteacher has agreed it"), or ""."""
    found = _EXCEPTION.search(sentence)
    return sentence[found.start():] if found else ""


def imposes_a_report(sentence: str) -> bool:
    """"…must not reply, must screenshot it, and must report it to the DSL the same day": whatever else the
    sentence rules, it says who must be told when this happens."""
    return bool(_REPORTS.search(sentence))
