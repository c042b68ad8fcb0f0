"""Ranked search over the policy's clauses (BM25), for questions no curated situation covers."""

from __future__ import annotations

import math
from collections import Counter

from policy_kb.document import Clause, PolicyDocument
from policy_kb.text import tokens

STOPWORDS = set(tokens(
    "a an and are as at be by can could do for from has have how i if in is it its may me might must my no "
    "not of on or our should so that the their them then there these they this to was we were what when "
    "where which who will with would you your am ok okay please any all about school employee employees "
    "policy also other such"
))
K1, B = 1.4, 0.75


class ClauseSearch:
    def __init__(self, document: PolicyDocument):
        self.clauses = [c for c in document.clauses if len(c.text) > 25]
        self._docs = [Counter(t for t in tokens(f"{c.section} {c.text}") if t not in STOPWORDS) for c in self.clauses]
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._average = sum(self._lengths) / max(1, len(self._lengths))
        frequency = Counter(term for doc in self._docs for term in doc)
        total = len(self._docs)
        self._idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()}

    def search(self, words: tuple[str, ...] | list[str], *, limit: int = 3) -> list[tuple[float, Clause]]:
        query = [w for w in dict.fromkeys(words) if w in self._idf]
        if not query:
            return []
        scored = []
        for clause, doc, length in zip(self.clauses, self._docs, self._lengths):
            total = 0.0
            for term in query:
                frequency = doc.get(term)
                if frequency:
                    total += self._idf[term] * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * length / self._average))
            if total > 0:
                scored.append((total, clause))
        scored.sort(key=lambda pair: -pair[0])
        return scored[:limit]
