"""The advisor: a staff member's question in, a verdict with the policy clauses it rests on out.

Deterministic and offline: the question is read into concepts (matcher), the curated situation that
fits best gives the verdict and its quotes; a question about social media that no situation covers gets
an honest "ask the headteacher" with the closest clauses found by search."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from policy_kb.answer import Answer, Citation, Verdict
from policy_kb.document import Clause, PolicyDocument, load_document
from policy_kb.drafts import draft_in, findings_in
from policy_kb.knowledge import BUNDLED_KNOWLEDGE, Knowledge, Situation, load_knowledge
from policy_kb.limits import LIMITED_VERDICTS, WITHOUT, Fit, Permission
from policy_kb.matcher import ConceptMatcher, best_pattern, score
from policy_kb.people import roles_asked_about
from policy_kb.rules import RulesSummary, rules_for
from policy_kb.search import STOPWORDS, ClauseSearch
from policy_kb.text import tokens
from policy_kb.verdict_model import VerdictModel
from policy_kb.wording import decided_by, imposes_a_report

BUNDLED_POLICY = Path(__file__).parent / "data" / "social_media_policy.txt"
# Long drafts are read up to here: enough for any post, and it keeps a pasted essay fast.
READ_LIMIT = 6000
CONFIDENT_SCORE = 2.0
# Verdicts about what the asker may do, as opposed to reports and information.
PERMISSIONS = {Verdict.ALLOWED, Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}
# Answers that "what does the policy say about…?" turns into information.
ASKING_ABOUT_RULES = PERMISSIONS | {Verdict.REPORT}
# Verdicts that hold a restriction: one of these overrides a "yes" that leaves the restriction unanswered.
RESTRICTIVE = {Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}
_SURPRISE = re.compile(r"\?\s*!|!\s*\?")
STRICTNESS = {Verdict.ALLOWED: 0, Verdict.ASK_HEADTEACHER: 1, Verdict.NOT_ALLOWED: 2}
# How sure the verdict model must be to overrule the cases (chosen on question sets held out from its
# training, see policy_kb/QUALITY.md).
SECOND_OPINION_CONFIDENCE = 0.7
# A yes the cases are sure of (everyday life, a case matched in full) takes a surer model to doubt.
DOUBTING_A_SURE_YES = 0.85
DOUBTING_EVERYDAY_LIFE = 0.95
# A case for the verdict the model leans to may be found through the clauses nearest to the question.
SEARCHED_CLAUSES = 8
LEANING_QUOTES = 1
# The situation of an answer a rule's limits decided ("within_limits:phones_on_breaks"), and of one the
# rule's own sentence makes a report ("report:blocking_unwanted_contact").
WITHIN_LIMITS = "within_limits:"
# A rule that allows this within limits the question does not say it meets: the headteacher's, and the
# verdict model may still be heard.
LIMITS_UNSAID = "limits_unsaid:"
REPORTED = "report:"
# A rule read from the policy is also quoted with the nearest clause among these that gives its verdict.
SUPPORT_SEARCHED = 3
SUPPORTED_VERDICTS = {Verdict.ALLOWED, Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER, Verdict.REPORT}
MAX_CITED = 3
# "What does the policy say about…?" is answered with up to this many clauses of the section asked about.
SECTION_QUOTES = 3


class Advisor:
    def __init__(self, document: PolicyDocument, knowledge: Knowledge, *, rules: RulesSummary | None = None,
                 model: VerdictModel | None = None):
        self.document = document
        self.knowledge = knowledge
        self.rules = rules
        self.model = model
        self.matcher = ConceptMatcher(knowledge, school_name=document.school_name, people=document.people)

    @cached_property
    def search(self) -> ClauseSearch:
        # Only questions no situation covers need it: built on first use, off the start-up path.
        return ClauseSearch(self.document)

    @classmethod
    def load(
        cls,
        *,
        settings=None,
        policy_path: Path | None = None,
        knowledge_path: Path | None = None,
        rules_path: Path | None = None,
        school_name: str = "",
        cache_dir: Path | None = None,
    ) -> "Advisor":
        if settings is not None:
            policy_path = policy_path or settings.policy_path
            knowledge_path = knowledge_path or settings.knowledge_path
            rules_path = rules_path or settings.rules_path
            school_name = school_name or settings.school_name
            cache_dir = cache_dir or settings.cache_dir
        policy_path = policy_path or BUNDLED_POLICY
        knowledge_path = knowledge_path or BUNDLED_KNOWLEDGE
        document = load_document(policy_path, school_name=school_name, cache_dir=cache_dir)
        curated = load_knowledge(knowledge_path, document, cache_dir=cache_dir)
        knowledge, summary = rules_for(
            curated, document, cache_dir=cache_dir, rules_path=rules_path,
            # Only read when rules must be derived: the bundled policy's start-up reads no file twice.
            fingerprint=lambda: _fingerprint(policy_path, knowledge_path, school_name),
        )
        return cls(document, knowledge, rules=summary, model=VerdictModel.load())

    def ask(self, question: str) -> Answer:
        question = (question or "").strip()
        if not question:
            return Answer(Verdict.OUT_OF_SCOPE, self._text("empty_answer"), situation="empty")
        holders = [self.document.role_holders[role] for role in roles_asked_about(question) if role in self.document.role_holders]
        if holders:
            return Answer(Verdict.INFO, self._text("role_holder_answer"), situation="role_holder",
                          citations=tuple(map(self._cite_clause, dict.fromkeys(holders))))
        # Read and ranked once: the second opinion looks among the same cases.
        reading = self.matcher.read(question[:READ_LIMIT])
        ranked = self._ranked(reading)
        answer = self._decide(question, reading, ranked)
        if self.model is not None:
            answer = self._second_opinion(question, answer, reading, ranked)
        answer = self._with_nearest_support(answer, reading)
        draft = draft_in(question[:READ_LIMIT]) if answer.verdict in PERMISSIONS else None
        return answer if draft is None else self._with_findings(answer, draft)

    def _with_nearest_support(self, answer: Answer, reading) -> Answer:
        """A rule read from the policy rests on one sentence chosen for its case, not for this question: the
        clause nearest to the question, from another section, is quoted too when its own wording gives the
        same verdict ("must not…" for a no). A report is quoted with the policy's own part on whom to tell."""
        if answer.situation.rsplit(":", 1)[-1] not in self._derived_cases or answer.verdict not in SUPPORTED_VERDICTS:
            return answer
        if answer.verdict is Verdict.REPORT:
            return self._with_whom_to_tell(answer, reading)
        if len(answer.citations) >= MAX_CITED:
            return answer
        cited = {citation.section for citation in answer.citations}
        for _, clause in self.search.search(reading.words, limit=SUPPORT_SEARCHED):
            if clause.section not in cited and decided_by(clause.text) is answer.verdict:
                return replace(answer, citations=(*answer.citations, self._cite_clause(clause)))
        return answer

    def _with_whom_to_tell(self, answer: Answer, reading) -> Answer:
        """Whom to tell is said once, in the policy's own part on reporting: a report is quoted with the
        clause nearest to the question that says to report, and with that part ("Reporting concerns") if
        no clause of it is quoted yet."""
        found = [clause for _, clause in self.search.search(reading.words, limit=len(self.search.clauses))]
        answer = self._with_report_clause(answer, found)
        if len(answer.citations) >= MAX_CITED or not self._reporting_part:
            return answer
        if any(citation.section in self._reporting_part for citation in answer.citations):
            return answer
        nearest = next((clause for clause in found if clause.section in self._reporting_part),
                       next(iter(self._reporting_part.values())))
        return replace(answer, citations=(*answer.citations, self._cite_clause(nearest)))

    def _with_report_clause(self, answer: Answer, found: list[Clause]) -> Answer:
        if len(answer.citations) >= MAX_CITED:
            return answer
        cited = {citation.section for citation in answer.citations}
        quoted = {citation.clause_id for citation in answer.citations}
        for clause in found[:SUPPORT_SEARCHED]:
            if clause.section not in cited and decided_by(clause.text) is Verdict.REPORT:
                return replace(answer, citations=(*answer.citations, self._cite_clause(clause)))
        for clause in found:
            wording = decided_by(clause.text)
            # "…should not post it and should seek the headteacher's advice first" asks before acting: no report.
            if clause.clause_id not in quoted and (wording is Verdict.REPORT or (
                    imposes_a_report(clause.text) and wording is not Verdict.ASK_HEADTEACHER)):
                return replace(answer, citations=(*answer.citations, self._cite_clause(clause)))
        return answer

    @cached_property
    def _reporting_part(self) -> dict[str, Clause]:
        """The sections whose headings name reporting, each with the clause quoted when the question's words
        find none of it: its first that says to report, or its first."""
        words = self.knowledge.reporting_headings
        part = {}
        for section in self.document.sections:
            # Words as written: a pupil's "reports" are not reporting.
            heading = " " + " ".join(re.findall(r"[a-z]+", section.heading.lower())) + " "
            if section.clauses and any(f" {w} " in heading for w in words):
                reporting = [c for c in section.clauses if decided_by(c.text) is Verdict.REPORT or imposes_a_report(c.text)]
                part[section.heading] = (reporting or list(section.clauses))[0]
        return part

    @cached_property
    def _derived_cases(self) -> frozenset[str]:
        return frozenset(case.situation_id for case in self.knowledge.situations if not case.curated)

    def _ranked(self, reading) -> list:
        # Deny overrides permit: a yes that fits the question no better than a restriction does not win the tie.
        return sorted(
            ((score(s, reading, self.knowledge.concepts), index, s) for index, s in enumerate(self.knowledge.situations)),
            key=lambda item: (-item[0], item[2].verdict is Verdict.ALLOWED, item[1]),
        )

    def _second_opinion(self, question: str, answer: Answer, reading, ranked) -> Answer:
        """The verdict model, sure of another verdict, is heard, but it never gives a yes: a yes it doubts
        becomes an honest "check first" (a yes the cases are sure of takes a surer model), and another
        verdict it leans to is answered by the closest case with that verdict, quoted as that case is. With
        no such case the cases' answer stands."""
        opinion = self.model.opinion(question)
        if opinion.verdict is answer.verdict or opinion.probability < SECOND_OPINION_CONFIDENCE:
            return answer
        if answer.situation.startswith((WITHIN_LIMITS, LIMITS_UNSAID)) and opinion.verdict in PERMISSIONS:
            # The policy's own exception, its limits read against the question: another school's lines
            # are not the model's to draw.
            return answer
        if answer.situation.startswith(REPORTED):
            # The policy's own sentence for the case says whom to tell once it has happened: that duty stands.
            return answer
        asks_what_to_do = self.knowledge.what_to_do in reading.concepts
        if answer.verdict is Verdict.REPORT and asks_what_to_do and reading.concepts & self.knowledge.urgent:
            # "A pupil messaged me that she doesn't want to be alive, what do I do?": whom to tell about a
            # child at risk is not the model's to doubt (a post about one is another matter).
            return answer
        if opinion.verdict is Verdict.ALLOWED:
            return answer
        if opinion.verdict is Verdict.OUT_OF_SCOPE:
            # Only a guess the cases themselves were unsure of is given up for "not about social media".
            if answer.confident:
                return answer
            return Answer(Verdict.OUT_OF_SCOPE, self._text("out_of_scope_answer"), situation="second_opinion:out_of_scope")
        leaning, matched = self._closest_case(reading, ranked, opinion.verdict)
        if answer.verdict is Verdict.ALLOWED and opinion.verdict is not Verdict.INFO:
            if answer.confident and opinion.probability < DOUBTING_A_SURE_YES:
                return answer
            everyday = reading.concepts & self.knowledge.everyday and not reading.concepts & self.knowledge.risk
            if answer.confident and everyday and opinion.probability < DOUBTING_EVERYDAY_LIFE:
                # One's own life (a dog, a bake, a holiday) with nothing the policy restricts: a doubt that
                # may rest on how the question is worded ("can I post…") takes a surer model still.
                return answer
            doubted = self._unsure(reading, answer=self._text("restricted_answer") or self._unsure_answer())
            if leaning is not None:
                doubted = replace(doubted, citations=tuple(dict.fromkeys((*leaning.citations, *doubted.citations))))
            return replace(doubted, situation="second_opinion:doubted_yes")
        if leaning is None:
            return answer
        if opinion.verdict is Verdict.INFO and not matched and self.knowledge.policy_question in reading.concepts:
            # "What does the policy say about AI tools?", where no section of it names them (see
            # `_section_asked_about`): a clause merely near the question would say it speaks of them.
            return answer
        # Its clauses first, then those of the case the question matched best: both bear on the question.
        citations = tuple(dict.fromkeys((*leaning.citations[:LEANING_QUOTES], *answer.citations)))
        if matched:
            text, next_steps = leaning.answer, leaning.next_steps
        else:
            # Found through a clause, not through what was asked: its own wording (a friend request, say)
            # may not fit the question, so the verdict is said in general terms, naming the section.
            texts = self.knowledge.derived_texts
            text = self._naming_section(f"{leaning.verdict.value}_answer", citations[0].section) or leaning.answer
            next_steps = tuple(filter(None, (texts.get(f"{leaning.verdict.value}_next_step", ""),))) or leaning.next_steps
        return Answer(
            verdict=leaning.verdict, answer=text, next_steps=next_steps, citations=citations,
            situation=f"second_opinion:{leaning.situation_id}", confident=False,
        )

    def _closest_case(self, reading, ranked, verdict: Verdict) -> tuple[Situation | None, bool]:
        """The best-matching case with this verdict (and True); failing one, a case with it quoting one of
        the clauses the search finds nearest to the question (and False)."""
        for case_score, _, case in ranked:
            if case_score <= 0:
                break
            if case.verdict is verdict:
                return case, True
        for _, clause in self.search.search(reading.words, limit=SEARCHED_CLAUSES):
            for case in self.knowledge.situations:
                if case.verdict is verdict and any(citation.clause_id == clause.clause_id for citation in case.citations):
                    return case, False
        return None, False

    def _decide(self, question: str, reading, ranked) -> Answer:
        best_score, _, best = ranked[0] if ranked else (0.0, 0, None)
        if best is not None and best_score > 0:
            if best.verdict in PERMISSIONS and self._describes_someone_else(reading, question):
                return self._witnessed(best, affects_asker=self.knowledge.affected in reading.concepts)
            asks_what_the_rules_are = self.knowledge.policy_question in reading.concepts and not (
                best.verdict is Verdict.REPORT and self.knowledge.what_to_do in reading.concepts
            )
            if best.verdict in ASKING_ABOUT_RULES and asks_what_the_rules_are and best.citations:
                return self._what_the_policy_says(best)
            if best.reports and best.verdict in PERMISSIONS and reading.concepts & self.knowledge.happened:
                return self._to_report(best)
            ruled, best = best, self._within_limits(best, reading)
            if best.verdict is Verdict.ALLOWED:
                unlifted = self._unlifted(best, reading)
                if unlifted:
                    return self._restricted(ranked, unlifted, reading)
            if best.verdict is Verdict.INFO and self.knowledge.asking in reading.concepts:
                # "Can I…, I'll delete it after" asks permission: a fact about the policy does not answer
                # it while a restriction in the question does.
                touched = reading.concepts & self.knowledge.restrictions
                if touched:
                    restricted = self._restricted(ranked, touched, reading)
                    if restricted.situation != "unsure":
                        return restricted
            # Everyday life (selling a cot, one's own children's sleep) touches nothing the policy worries
            # about: a plain yes, however few words the question gave the case to go on.
            everyday_yes = best.verdict is Verdict.ALLOWED and not reading.concepts & self.knowledge.risk
            return Answer(
                verdict=best.verdict,
                answer=best.answer,
                citations=best.citations,
                next_steps=best.next_steps,
                situation=_limited_situation(ruled, best),
                confident=best_score >= CONFIDENT_SCORE or everyday_yes,
            )
        if reading.concepts & {self.knowledge.policy_question, self.knowledge.policy_word} and self.knowledge.asking not in reading.concepts:
            about = self._section_asked_about(reading)
            if about:
                return self._what_the_section_says(about)
        # "is this ok: 'Massive congrats to my little sis…'" pastes a post to check, whatever words it uses.
        pasted = draft_in(question[:READ_LIMIT]) is not None
        if not reading.concepts & self.knowledge.domain and not pasted:
            return Answer(Verdict.OUT_OF_SCOPE, self._text("out_of_scope_answer"), situation="out_of_scope")
        if not reading.concepts & (self.knowledge.domain - {self.knowledge.policy_word}) and not pasted:
            # Only "policy" made it look like ours: the uniform policy, the behaviour policy.
            return Answer(Verdict.OUT_OF_SCOPE, self._text("out_of_scope_answer"), situation="out_of_scope")
        personal_use_quotes = self.knowledge.fallback_citations.get("personal_use_quotes", ())
        if not reading.concepts & self.knowledge.risk and not personal_use_quotes:
            # A policy that says nothing about personal use gives no yes to quote.
            return Answer(Verdict.ASK_HEADTEACHER, self.knowledge.derived_texts.get("not_covered_answer", ""),
                          next_steps=(self._text("unsure_next_step"),), situation="not_covered", confident=False)
        if not reading.concepts & self.knowledge.risk:
            # Nothing in the question touches pupils, the school, colleagues or anything the policy
            # restricts: everyday personal use, which the policy does not set out to prevent.
            return Answer(
                verdict=Verdict.ALLOWED,
                answer=self._text("personal_use_answer"),
                citations=personal_use_quotes,
                situation="personal_use",
                # Sure when the question says what it is about (a holiday, their own children); "can I post
                # this?" with nothing to judge says so and offers the headteacher, like any unsure answer.
                confident=bool(reading.concepts & self.knowledge.everyday),
            )
        return self._unsure(reading, answer=self._unsure_answer())

    def _with_findings(self, answer: Answer, draft: str) -> Answer:
        """A pasted draft is read line by line: what in it the policy touches is listed with its clause,
        and the answer is about those findings. They can only make it stricter (a finding the cases did not
        weigh turns a yes into a no or a "check first"), never more permissive; with none, a yes stays a
        plain yes."""
        # A policy too short to have a sentence for each kind of finding lists them under the restriction
        # the answer rests on.
        fallback = answer.citations[0] if answer.verdict in RESTRICTIVE and answer.citations else None
        findings = findings_in(draft, concepts=self.matcher.read(draft).concepts, rules=self.knowledge.findings,
                               fallback=fallback)
        if not findings:
            if answer.verdict is not Verdict.ALLOWED:
                return answer
            return replace(answer, answer=self._text("draft_fine_answer") or answer.answer, confident=True)
        labels = {finding.label for finding in findings}
        found = Verdict.NOT_ALLOWED if any(
            rule.verdict is Verdict.NOT_ALLOWED for rule in self.knowledge.findings if rule.label in labels
        ) else Verdict.ASK_HEADTEACHER
        verdict = max(found, answer.verdict, key=STRICTNESS.__getitem__)
        key = "draft_not_allowed_answer" if verdict is Verdict.NOT_ALLOWED else "draft_check_answer"
        return replace(
            answer, verdict=verdict, answer=self._text(key), findings=findings, confident=True,
            citations=tuple(dict.fromkeys((*(finding.citation for finding in findings), *answer.citations))),
            next_steps=(self._text("draft_next_step"),),
        )

    def _to_report(self, case: Situation) -> Answer:
        """The policy's sentence for this case also says whom to tell when it happens, and it has."""
        return Answer(
            verdict=Verdict.REPORT,
            answer=self._naming_section("report_answer", case.citations[0].section),
            citations=case.citations,
            next_steps=tuple(filter(None, (self.knowledge.derived_texts.get("report_next_step", ""),))),
            situation=f"{REPORTED}{case.situation_id}",
        )

    def _within_limits(self, case: Situation, reading) -> Situation:
        """A rule read from a permission with limits ("only in the staffroom, at lunch"). Outside a limit the
        question names is a no. Within every limit, a rule whose sentence sets no condition the limits miss
        is a yes; any other is still a "check first": a sentence may set conditions no limit reads ("once they
        are 18 and have left two years", "when no pupils are present"), and a wrong yes is the one answer a
        school cannot take back. A question that does not say stays with the headteacher. Where the rule gives
        no yes, another sentence of the policy whose every limit the question meets is its own exception."""
        ruled = self._by_its_limits(case, reading)
        if ruled.verdict is Verdict.ALLOWED:
            return ruled
        dimensions = self.knowledge.limit_dimensions
        met = next((each for each in case.permissions
                    if dimensions.fit(each.limits, reading.concepts, reading.ruled_out, reading.measures) is Fit.MET), None)
        return ruled if met is None else self._by_permission(case, met)

    def _by_its_limits(self, case: Situation, reading) -> Situation:
        if not case.limits or case.verdict not in LIMITED_VERDICTS:
            return case
        fit = self.knowledge.limit_dimensions.fit(case.limits, reading.concepts, reading.ruled_out, reading.measures)
        if fit is Fit.BROKEN:
            verdict, key = Verdict.NOT_ALLOWED, "limits_broken_answer"
        elif case.verdict is Verdict.ALLOWED:
            verdict, key = (Verdict.ALLOWED, "limits_met_yes_answer") if fit is Fit.MET else (Verdict.ASK_HEADTEACHER, "limits_unsaid_answer")
        elif fit is Fit.MET:
            verdict, key = Verdict.ASK_HEADTEACHER, "limits_met_answer"
        else:
            return case
        return replace(
            case, verdict=verdict, answer=self._naming_section(key, case.citations[0].section) or case.answer,
            next_steps=tuple(filter(None, (self.knowledge.derived_texts.get(f"{verdict.value}_next_step", ""),))),
        )

    def _by_permission(self, case: Situation, permission: Permission) -> Situation:
        return replace(
            case, verdict=Verdict.ALLOWED, citations=(permission.citation,), limits=permission.limits,
            lifts=frozenset(permission.lifts),
            answer=self._naming_section("limits_met_yes_answer", permission.citation.section) or case.answer,
            next_steps=tuple(filter(None, (self.knowledge.derived_texts.get("allowed_next_step", ""),))),
        )

    def _unlifted(self, allowed, reading) -> frozenset[str]:
        """The restrictions the question touches that the "yes" does not answer: neither part of the case it
        matched nor one the policy itself lifts there ("friends only" lifts nothing about pupils)."""
        touched = reading.concepts & self.knowledge.restrictions
        answered = set(best_pattern(allowed, reading, self.knowledge.concepts)) | allowed.lifts
        # "…provided no pupil data is entered", asked of "a Y4 lesson plan, no pupil info in it": ruled out by both.
        answered |= reading.ruled_out & {name for dimension, values in allowed.limits if dimension == WITHOUT for name in values}
        return frozenset(name for name in touched - answered if self.knowledge.kind_of.get(name) not in answered)

    def _restricted(self, ranked, unlifted: frozenset[str], reading) -> Answer:
        """Deny overrides permit: the strongest restrictive case about what is left over decides, quoted;
        with none, an honest "check first" with the clauses nearest to the question."""
        for case_score, _, case in ranked:
            if case_score <= 0:
                break
            if case.verdict in RESTRICTIVE and unlifted & set(best_pattern(case, reading, self.knowledge.concepts)):
                return Answer(
                    verdict=case.verdict, answer=case.answer, citations=case.citations, next_steps=case.next_steps,
                    situation=case.situation_id, confident=case_score >= CONFIDENT_SCORE,
                )
        return self._unsure(reading, answer=self._text("restricted_answer") or self._unsure_answer())

    def _unsure_answer(self) -> str:
        # "The policy says that when you are unsure…" is the bundled policy's sentence: a policy without one
        # is not made to say it.
        if self.knowledge.fallback_citations.get("unsure_quotes"):
            return self._text("unsure_answer")
        return self.knowledge.derived_texts.get("unsure_answer") or self._text("unsure_answer")

    def _unsure(self, reading, *, answer: str) -> Answer:
        found = [clause for _, clause in self.search.search(reading.words, limit=2)]
        citations = self.knowledge.fallback_citations.get("unsure_quotes", ())
        searched = tuple(
            c for c in map(self._cite_clause, found) if c.clause_id not in {known.clause_id for known in citations}
        )
        return Answer(
            verdict=Verdict.ASK_HEADTEACHER,
            answer=answer,
            citations=searched + citations,
            next_steps=(self._text("unsure_next_step"),),
            situation="unsure",
            confident=False,
        )

    def _describes_someone_else(self, reading, question: str) -> bool:
        """A statement about what someone else did ("one of the TAs is posting pics of pupils"), rather
        than a question about what the asker may do."""
        # "?!" is surprise, not a request: "she's STILL posting on the PTA twitter?!"
        questioning = "?" in question and not _SURPRISE.search(question)
        asking = self.knowledge.asking in reading.concepts or (
            questioning and self.knowledge.what_to_do not in reading.concepts
        )
        # "A Y5 girl just followed me… what now": someone else's act aimed at the asker is someone else's too.
        acted = self.knowledge.third_party in reading.concepts or self.knowledge.affected in reading.concepts
        return acted and not asking

    def _section_asked_about(self, reading) -> list[Clause]:
        """"What does the policy say about AI tools?": the clauses nearest to the question, when the nearest
        is in a section whose heading names what was asked about (a word few headings share)."""
        found = [clause for _, clause in self.search.search(reading.words, limit=SECTION_QUOTES)]
        if not found:
            return []
        named = set(tokens(found[0].section)) & set(reading.words) & self._distinctive_heading_words
        if not named:
            return []
        in_section = {clause.clause_id for clause in found if clause.section == found[0].section}
        # In the order the policy gives them.
        return [clause for clause in self.search.clauses if clause.clause_id in in_section]

    @cached_property
    def _distinctive_heading_words(self) -> frozenset[str]:
        headings = [set(tokens(section.heading)) - STOPWORDS for section in self.document.sections]
        counts = Counter(word for heading in headings for word in heading)
        return frozenset(word for word, count in counts.items() if count <= max(1, len(headings) // 8))

    def _what_the_section_says(self, clauses: list[Clause]) -> Answer:
        citations = tuple(map(self._cite_clause, clauses))
        return Answer(Verdict.INFO, self._naming_section("info_answer", citations[0].section), citations=citations,
                      situation="section_asked_about")

    def _what_the_policy_says(self, rule) -> Answer:
        """"What are the rules on X?": the same clauses as "may I do X?", given as information."""
        return Answer(
            verdict=Verdict.INFO,
            answer=rule.answer,
            citations=rule.citations,
            next_steps=rule.next_steps,
            situation=f"rules:{rule.situation_id}",
        )

    def _witnessed(self, rule, *, affects_asker: bool) -> Answer:
        """Someone else may have broken the policy: the rule it rests on, and the duty to tell the headteacher;
        aimed at the asker, the policy's own part for staff affected comes first."""
        quoted = self.knowledge.fallback_citations
        affected = quoted.get("affected_quotes", ()) if affects_asker else ()
        told = quoted.get("witnessed_quotes", ())
        ordered = (*affected, *told, *rule.citations[:1])[:MAX_CITED] if affected else (*rule.citations[:1], *told)
        return Answer(
            verdict=Verdict.REPORT,
            answer=self._text("witnessed_answer"),
            citations=tuple(dict.fromkeys(ordered)),
            next_steps=(self._text("witnessed_next_step"),),
            situation=f"witnessed:{rule.situation_id}",
        )

    def _cite_clause(self, clause: Clause) -> Citation:
        return Citation(section=clause.section, quote=clause.text, clause_id=clause.clause_id)

    def _text(self, key: str) -> str:
        return self.knowledge.fallback.get(key, "")

    def _naming_section(self, key: str, section: str) -> str:
        """An answer for a rule read from the policy itself, naming the section it quotes."""
        return self.knowledge.derived_texts.get(key, "").replace("{section}", section)


def _limited_situation(ruled: Situation, answered: Situation) -> str:
    """The answer's situation, marked when the rule's limits decided it, or left it to the headteacher."""
    if answered is ruled:
        return ruled.situation_id
    unsaid = ruled.verdict is Verdict.ALLOWED and answered.verdict is Verdict.ASK_HEADTEACHER
    return f"{LIMITS_UNSAID if unsaid else WITHIN_LIMITS}{ruled.situation_id}"


def _fingerprint(policy_path: Path, knowledge_path: Path, school_name: str) -> str:
    """What derived rules depend on: the policy file's bytes, the knowledge file's bytes, the school's name."""
    digest = hashlib.sha256()
    for path in (policy_path, knowledge_path):
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            return ""
        digest.update(b"\0")
    digest.update(school_name.encode())
    return digest.hexdigest()
