"""`python -m policy_kb.train_verdicts SET.jsonl ...`: train the verdict model (`policy_kb.verdict_model`)
on question sets for the bundled policy and write it to policy_kb/data/. Deterministic: the same sets give
the same bytes. Multinomial logistic regression, AdaGrad, a fixed seed and order."""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from policy_kb.verdict_model import BUCKETS, VERDICTS, features, save

EPOCHS = 10
LEARNING_RATE = 0.5
L2 = 1e-5
SEED = 20261201


def train(questions: list[dict], *, epochs: int = EPOCHS) -> tuple[list[float], list[float]]:
    """Weights (BUCKETS rows of one per verdict) and a bias per verdict."""
    width = len(VERDICTS)
    index_of = {verdict.value: index for index, verdict in enumerate(VERDICTS)}
    examples = [(list(features(question["q"]).items()), index_of[question["verdict"]]) for question in questions]
    weights = [0.0] * (BUCKETS * width)
    squared = [1e-8] * (BUCKETS * width)
    bias, bias_squared = [0.0] * width, [1e-8] * width
    shuffler = random.Random(SEED)
    for _ in range(epochs):
        shuffler.shuffle(examples)
        for found, wanted in examples:
            logits = list(bias)
            for bucket, value in found:
                row = bucket * width
                for index in range(width):
                    logits[index] += weights[row + index] * value
            top = max(logits)
            exps = [math.exp(logit - top) for logit in logits]
            total = sum(exps)
            errors = [exp / total - (1.0 if index == wanted else 0.0) for index, exp in enumerate(exps)]
            for index, error in enumerate(errors):
                bias_squared[index] += error * error
                bias[index] -= LEARNING_RATE * error / math.sqrt(bias_squared[index])
            for bucket, value in found:
                row = bucket * width
                for index, error in enumerate(errors):
                    at = row + index
                    gradient = error * value + L2 * weights[at]
                    squared[at] += gradient * gradient
                    weights[at] -= LEARNING_RATE * gradient / math.sqrt(squared[at])
    return weights, bias


def read_sets(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="question sets (.jsonl) written for the bundled policy")
    args = parser.parse_args(argv)
    paths = sorted(args.sets)
    weights, bias = train(read_sets(paths))
    save(weights=weights, bias=bias, trained_on=[path.name for path in paths])
    print(f"trained on {len(paths)} sets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
