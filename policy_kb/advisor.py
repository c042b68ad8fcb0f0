"""The advisor: a staff member's question in, a verdict with the policy clauses it rests on out.

Deterministic and offline: the question is read into concepts (matcher), the curated situation that
fits best gives the verdict and its quotes; a question about social media that no situation covers gets
an honest "ask the headteacher" with the closest clauses found by search."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from policy_kb.answer import Answer, Citation, Verdict
from policy_kb.document import Clause, PolicyDocument, load_document
from policy_kb.knowledge import BUNDLED_KNOWLEDGE, Knowledge, load_knowledge
from policy_kb.matcher import ConceptMatcher, score
from policy_kb.search import ClauseSearch

BUNDLED_POLICY = Path(__file__).parent / "data" / "social_media_policy.txt"
# Long drafts are read up to here: enough for any post, and it keeps a pasted essay fast.
READ_LIMIT = 6000
CONFIDENT_SCORE = 2.0
# Verdicts about what the asker may do, as opposed to reports and information.
PERMISSIONS = {Verdict.ALLOWED, Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}
# Answers that "what does the policy say about…?" turns into information.
ASKING_ABOUT_RULES = PERMISSIONS | {Verdict.REPORT}


class Advisor:
    def __init__(self, document: PolicyDocument, knowledge: Knowledge):
        self.document = document
        self.knowledge = knowledge
        self.matcher = ConceptMatcher(knowledge, school_name=document.school_name)

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
        school_name: str = "",
    ) -> "Advisor":
        if settings is not None:
            policy_path = policy_path or settings.policy_path
            knowledge_path = knowledge_path or settings.knowledge_path
            school_name = school_name or settings.school_name
        document = load_document(policy_path or BUNDLED_POLICY, school_name=school_name)
        return cls(document, load_knowledge(knowledge_path or BUNDLED_KNOWLEDGE, document))

    def ask(self, question: str) -> Answer:
        question = (question or "").strip()
        if not question:
            return Answer(Verdict.OUT_OF_SCOPE, self._text("empty_answer"), situation="empty")
        reading = self.matcher.read(question[:READ_LIMIT])
        ranked = sorted(
            ((score(s, reading, self.knowledge.concepts), index, s) for index, s in enumerate(self.knowledge.situations)),
            key=lambda item: (-item[0], item[1]),
        )
        best_score, _, best = ranked[0] if ranked else (0.0, 0, None)
        if best is not None and best_score > 0:
            if best.verdict in PERMISSIONS and self._describes_someone_else(reading, question):
                return self._witnessed(best)
            if best.verdict in ASKING_ABOUT_RULES and self.knowledge.policy_question in reading.concepts:
                return self._what_the_policy_says(best)
            return Answer(
                verdict=best.verdict,
                answer=best.answer,
                citations=best.citations,
                next_steps=best.next_steps,
                situation=best.situation_id,
                confident=best_score >= CONFIDENT_SCORE,
            )
        if not reading.concepts & self.knowledge.domain:
            return Answer(Verdict.OUT_OF_SCOPE, self._text("out_of_scope_answer"), situation="out_of_scope")
        if not reading.concepts & self.knowledge.risk:
            # Nothing in the question touches pupils, the school, colleagues or anything the policy
            # restricts: everyday personal use, which the policy does not set out to prevent.
            return Answer(
                verdict=Verdict.ALLOWED,
                answer=self._text("personal_use_answer"),
                citations=self.knowledge.fallback_citations.get("personal_use_quotes", ()),
                situation="personal_use",
                confident=False,
            )
        found = [clause for _, clause in self.search.search(reading.words, limit=2)]
        citations = self.knowledge.fallback_citations.get("unsure_quotes", ())
        searched = tuple(
            c for c in map(self._cite_clause, found) if c.clause_id not in {known.clause_id for known in citations}
        )
        return Answer(
            verdict=Verdict.ASK_HEADTEACHER,
            answer=self._text("unsure_answer"),
            citations=searched + citations,
            next_steps=(self._text("unsure_next_step"),),
            situation="unsure",
            confident=False,
        )

    def _describes_someone_else(self, reading, question: str) -> bool:
        """A statement about what someone else did ("one of the TAs is posting pics of pupils"), rather
        than a question about what the asker may do."""
        asking = self.knowledge.asking in reading.concepts or (
            "?" in question and self.knowledge.what_to_do not in reading.concepts
        )
        return self.knowledge.third_party in reading.concepts and not asking

    def _what_the_policy_says(self, rule) -> Answer:
        """"What are the rules on X?": the same clauses as "may I do X?", given as information."""
        return Answer(
            verdict=Verdict.INFO,
            answer=rule.answer,
            citations=rule.citations,
            next_steps=rule.next_steps,
            situation=f"rules:{rule.situation_id}",
        )

    def _witnessed(self, rule) -> Answer:
        """Someone else may have broken the policy: the rule it rests on, and the duty to tell the headteacher."""
        rule_quotes = rule.citations[:1]
        report_quotes = tuple(
            c for c in self.knowledge.fallback_citations.get("witnessed_quotes", ()) if c not in rule_quotes
        )
        return Answer(
            verdict=Verdict.REPORT,
            answer=self._text("witnessed_answer"),
            citations=rule_quotes + report_quotes,
            next_steps=(self._text("witnessed_next_step"),),
            situation=f"witnessed:{rule.situation_id}",
        )

    def _cite_clause(self, clause: Clause) -> Citation:
        return Citation(section=clause.section, quote=clause.text, clause_id=clause.clause_id)

    def _text(self, key: str) -> str:
        return self.knowledge.fallback.get(key, "")
