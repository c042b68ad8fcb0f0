"""A second opinion on the verdict: a linear model over a question's words, word pairs and character
4-grams, trained on the question sets written for the bundled policy (`python -m policy_kb.train_verdicts`)
and shipped as data. Deterministic and offline; it never decides alone (see `Advisor._second_opinion`).

It is heard for any school's policy, not only the bundled one: what kind of answer a question wants (a
permission, a report, information, nothing to do with social media) and where schools' restrictions lie are
much the same from one policy to the next, and its opinion only chooses among the loaded policy's own rules,
quoted from that policy, never a yes (measured on other schools' policies in policy_kb/QUALITY.md).

The weights are int8 in hashed buckets (crc32 of each feature), with one scale per verdict: a megabyte and
a half read in a millisecond, and a question scored in well under one."""

from __future__ import annotations

import json
import math
import re
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

from policy_kb.answer import Verdict

BUNDLED_MODEL = Path(__file__).parent / "data" / "verdict_model.bin"
BUNDLED_MODEL_META = Path(__file__).parent / "data" / "verdict_model.json"
BUCKETS = 2**18
VERDICTS = tuple(Verdict)
CHAR_GRAM = 4
_WORD = re.compile(r"[a-z0-9']+")
# Long drafts are read up to here, like the advisor's own reading.
READ_LIMIT = 6000


def features(text: str) -> dict[int, float]:
    """Bucket -> weight: words, word pairs and character 4-grams, L2-normalised so length does not count."""
    words = _WORD.findall(text[:READ_LIMIT].lower())
    counts: dict[int, float] = {}

    def add(feature: str) -> None:
        bucket = zlib.crc32(feature.encode("utf-8")) & (BUCKETS - 1)
        counts[bucket] = counts.get(bucket, 0.0) + 1.0

    for word in words:
        add("w:" + word)
    for first, second in zip(words, words[1:]):
        add(f"b:{first} {second}")
    joined = f" {' '.join(words)} "
    for start in range(len(joined) - CHAR_GRAM + 1):
        add("c:" + joined[start : start + CHAR_GRAM])
    norm = math.sqrt(sum(value * value for value in counts.values())) or 1.0
    return {bucket: value / norm for bucket, value in counts.items()}


@dataclass(frozen=True)
class Opinion:
    verdict: Verdict
    probability: float


class VerdictModel:
    def __init__(self, *, weights: array, scales: tuple[float, ...], bias: tuple[float, ...]) -> None:
        self.weights = weights  # BUCKETS rows of len(VERDICTS) int8
        self.scales = scales
        self.bias = bias

    @classmethod
    def load(cls, *, weights_path: Path = BUNDLED_MODEL, meta_path: Path = BUNDLED_MODEL_META) -> VerdictModel | None:
        """The shipped model, or None when it is missing or damaged (the cases then answer alone)."""
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if meta.get("verdicts") != [v.value for v in VERDICTS]:
            return None
        weights = array("b")
        try:
            weights.frombytes(weights_path.read_bytes())
        except OSError:
            return None
        if len(weights) != BUCKETS * len(VERDICTS):
            return None
        return cls(weights=weights, scales=tuple(meta["scales"]), bias=tuple(meta["bias"]))

    def opinion(self, question: str) -> Opinion:
        width = len(VERDICTS)
        totals = [0.0] * width
        weights = self.weights
        for bucket, value in features(question).items():
            row = bucket * width
            for index in range(width):
                totals[index] += weights[row + index] * value
        logits = [total * scale + bias for total, scale, bias in zip(totals, self.scales, self.bias)]
        top = max(logits)
        exps = [math.exp(logit - top) for logit in logits]
        best = max(range(width), key=logits.__getitem__)
        return Opinion(VERDICTS[best], exps[best] / sum(exps))


def save(*, weights: list[float], bias: list[float], trained_on: list[str],
         weights_path: Path = BUNDLED_MODEL, meta_path: Path = BUNDLED_MODEL_META) -> None:
    """int8 per verdict column, scaled to that column's largest weight."""
    width = len(VERDICTS)
    scales = []
    for index in range(width):
        largest = max(abs(weights[row * width + index]) for row in range(BUCKETS)) or 1.0
        scales.append(largest / 127)
    quantised = array("b", (
        max(-127, min(127, round(weights[row * width + index] / scales[index]))) for row in range(BUCKETS) for index in range(width)
    ))
    weights_path.write_bytes(quantised.tobytes())
    meta_path.write_text(json.dumps({
        "verdicts": [v.value for v in VERDICTS], "scales": scales, "bias": bias, "trained_on": trained_on,
    }, indent=1) + "\n", encoding="utf-8")
