"""What the school sees of the rules: `policybot kb init` writes them as a file the school can edit, and
`policybot kb review` as a printable sheet for the headteacher or DSL to tick or correct."""

from __future__ import annotations

import html
import json
from datetime import date

from policy_kb.answer import Verdict
from policy_kb.measures import MIN_AGE, MIN_YEARS_LEFT

VERDICT_WORDS = {
    Verdict.ALLOWED: "Yes, allowed",
    Verdict.NOT_ALLOWED: "No, not allowed",
    Verdict.ASK_HEADTEACHER: "Check with the headteacher first",
    Verdict.REPORT: "Report it",
    Verdict.INFO: "Tells what the policy says",
}
MIN_UNUSED_CLAUSE_CHARS = 40


def rules_toml(advisor, *, today: date | None = None) -> str:
    """Every situation's rule as TOML: verdict, the exact quote, its section, where it came from and how
    sure that is; then the policy's clauses no rule uses, so the school can add situations for them."""
    document, summary = advisor.document, advisor.rules
    lines = [
        f"# The rules policybot uses for {document.school_name or 'your school'}, read from {document.source}",
        f"# on {(today or date.today()).isoformat()}. Edit a verdict or a quote (copied exactly from the policy),",
        "# point RULES_PATH at this file, and run `policybot kb check`. A rule with an empty quote is left to",
        "# the headteacher. Verdicts: allowed, not_allowed, ask_headteacher, report, info. Once you have checked",
        "# a rule, set its confidence to \"checked\": rules still \"low\" are counted as left to the headteacher.",
        "# A rule with limits (where, when, whose agreement, which relationship, how old) is a no for a question",
        "# outside one of them. Within them an \"allowed\" rule is a yes and an \"ask_headteacher\" rule still a check",
        "# first; a question that does not say is the headteacher's. Delete the limits to always give the verdict.",
        "# A rule's [[rules.exceptions]] are other sentences of the policy that allow the case within limits: a",
        "# question that meets every limit of one is told yes, quoting it. Delete one to stop that yes.",
        "",
    ]
    for situation in advisor.knowledge.situations:
        key = situation.situation_id
        citation = situation.citations[0] if situation.citations else None
        lines += [
            "[[rules]]",
            f"situation = {_string(key)}",
            f"example = {_string(situation.example)}",
            f"verdict = {_string(situation.verdict.value if citation else '')}",
            f"quote = {_string(citation.quote if citation else '')}",
            f"section = {_string(citation.section if citation else '')}",
            f"source = {_string(summary.sources.get(key, ''))}",
            f"confidence = {_string(summary.confidence.get(key, ''))}",
            *([f"limits = {_limits_table(situation.limits)}"] if situation.limits and citation else []),
            "",
        ]
        for permission in situation.permissions if citation else ():
            lines += [
                "[[rules.exceptions]]",
                f"quote = {_string(permission.citation.quote)}",
                f"section = {_string(permission.citation.section)}",
                f"limits = {_limits_table(permission.limits)}",
                "",
            ]
    unused = unused_clauses(advisor)
    lines.append(f"# Clauses no rule uses ({len(unused)}): add a situation for any that staff will ask about.")
    for clause in unused:
        lines += ["[[unused]]", f"section = {_string(clause.section)}", f"text = {_string(clause.text)}", ""]
    return "\n".join(lines) + "\n"


def unused_clauses(advisor):
    used = {c.clause_id for s in advisor.knowledge.situations for c in s.citations}
    used |= {c.clause_id for quotes in advisor.knowledge.fallback_citations.values() for c in quotes}
    return [
        clause for clause in advisor.document.clauses
        if clause.clause_id not in used and len(clause.text) >= MIN_UNUSED_CLAUSE_CHARS and not clause.text.endswith(":")
    ]


def review_html(advisor, *, today: date | None = None) -> str:
    """One printed page per section of the policy: each situation it decides as a question staff ask,
    the answer the bot gives and the clause it quotes, with boxes to tick or correct."""
    document = advisor.document
    school = html.escape(document.school_name or "your school")
    by_section: dict[str, list] = {section.heading: [] for section in document.sections}
    uncovered = []
    for situation in advisor.knowledge.situations:
        if situation.citations:
            by_section.setdefault(situation.citations[0].section, []).append(situation)
        else:
            uncovered.append(situation)
    pages = []
    for heading, situations in by_section.items():
        if situations:
            pages.append(_page(heading, situations, advisor))
    if uncovered:
        pages.append(_page("Not covered by the policy: the bot says to check with the headteacher", uncovered, advisor))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Policy review: {school}</title>
<style>
body {{ font-family: Arial, sans-serif; font-size: 11pt; margin: 2cm; }}
section {{ page-break-after: always; }}
h1 {{ font-size: 16pt; }} h2 {{ font-size: 13pt; border-bottom: 1px solid #444; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #999; padding: 6px; vertical-align: top; text-align: left; }}
blockquote {{ margin: 0; font-style: italic; }}
.box {{ white-space: nowrap; }} .low {{ color: #a00; }}
</style></head><body>
<section><h1>Staff social media policy: review of the bot's answers</h1>
<p>{school}, from {html.escape(document.source)}, {(today or date.today()).strftime("%d %B %Y")}.</p>
<p>For each question, tick <b>Correct</b>, or write the answer the policy really gives and the clause it rests on.
Corrections go into the rules file (<code>policybot kb init</code>); <code>policybot kb check</code> checks it.</p>
<p>{advisor.rules.decided} situations are decided by the policy's text; {advisor.rules.left_to_headteacher} are left to the headteacher.</p>
</section>
{''.join(pages)}
</body></html>
"""


def _page(heading: str, situations, advisor) -> str:
    rows = []
    for situation in situations:
        citation = situation.citations[0] if situation.citations else None
        confidence = advisor.rules.confidence.get(situation.situation_id, "")
        verdict = VERDICT_WORDS.get(situation.verdict, situation.verdict.value) if citation else "Check with the headteacher (not covered)"
        if situation.limits and citation and situation.verdict is Verdict.ALLOWED:
            verdict = (f"Yes within its limits ({limits_in_words(situation.limits)}); no outside them; "
                       "check with the headteacher when a question does not say")
        elif situation.limits and citation:
            verdict = f"No outside its limits ({limits_in_words(situation.limits)}); within them or otherwise, {verdict.lower()}"
        exceptions = "".join(
            f"<p>Yes where {html.escape(limits_in_words(permission.limits))}, because the policy says:</p>"
            f"<blockquote>{html.escape(permission.citation.quote)}</blockquote>"
            for permission in (situation.permissions if citation else ())
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(situation.example or situation.situation_id)}</td>"
            f"<td>{html.escape(verdict)}<br><span class=\"{'low' if confidence in {'low', 'none'} else ''}\">"
            f"how sure: {html.escape(confidence)}</span></td>"
            f"<td><blockquote>{html.escape(citation.quote) if citation else ''}</blockquote>{exceptions}</td>"
            "<td class=\"box\">&#9744; Correct<br>&#9744; Change to: ____________</td>"
            "</tr>"
        )
    return (
        f"<section><h2>{html.escape(heading)}</h2><table><tr><th>Staff ask</th><th>The bot answers</th>"
        f"<th>Because the policy says</th><th>Check</th></tr>{''.join(rows)}</table></section>\n"
    )


MEASURED_IN_WORDS = {MIN_AGE: "aged {} or over", MIN_YEARS_LEFT: "left at least {} years ago"}


def _limits_table(limits) -> str:
    return "{ " + ", ".join(f"{dimension} = {json.dumps(list(values))}" for dimension, values in limits) + " }"


def limits_in_words(limits) -> str:
    """"place: staffroom or off site; time: break time or lunch time; aged 21 or over"."""
    return "; ".join(
        MEASURED_IN_WORDS[dimension].format(values[0]) if dimension in MEASURED_IN_WORDS
        else f"{dimension}: {' or '.join(value.replace('_', ' ') for value in values)}"
        for dimension, values in limits
    )


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)
