"""The verdict model is a second opinion: heard when it is sure, never the source of a yes, and for any
school's policy it only chooses among that policy's own rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy_kb import train_verdicts
from policy_kb.advisor import SECOND_OPINION_CONFIDENCE, Advisor
from policy_kb.answer import Verdict
from policy_kb.verdict_model import BUNDLED_MODEL, BUNDLED_MODEL_META, Opinion, VerdictModel, save

FIXTURES = Path(__file__).parent.parent / "fixtures"
EVERYDAY = "Can I post photos of my own holiday in Cornwall on my Instagram?"
UNSURE = "Can I post a poll on Threads asking parents which biscuits are best?"


class Sure:
    """A model that always says the same, as sure as asked."""

    def __init__(self, verdict: Verdict, probability: float = 0.99) -> None:
        self.verdict, self.probability = verdict, probability

    def opinion(self, question: str) -> Opinion:
        return Opinion(self.verdict, self.probability)


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


def _with(advisor: Advisor, model) -> Advisor:
    return Advisor(advisor.document, advisor.knowledge, rules=advisor.rules, model=model)


def _questions() -> list[str]:
    return [json.loads(line)["q"] for line in (FIXTURES / "advisor_questions_18.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_model_sure_of_yes_never_turns_another_answer_into_one(advisor):
    alone, keen = _with(advisor, None), _with(advisor, Sure(Verdict.ALLOWED))
    for question in _questions():
        if alone.ask(question).verdict is not Verdict.ALLOWED:
            assert keen.ask(question).verdict is not Verdict.ALLOWED, question


def test_a_yes_the_model_doubts_becomes_an_honest_check_first(advisor):
    assert _with(advisor, None).ask(EVERYDAY).verdict is Verdict.ALLOWED
    doubted = _with(advisor, Sure(Verdict.NOT_ALLOWED)).ask(EVERYDAY)
    assert doubted.verdict is Verdict.ASK_HEADTEACHER and not doubted.confident
    clause_text = {clause.clause_id: clause.text for clause in advisor.document.clauses}
    assert doubted.citations and all(citation.quote in clause_text[citation.clause_id] for citation in doubted.citations)


def test_an_unsure_model_is_not_heard(advisor):
    unsure_model = Sure(Verdict.NOT_ALLOWED, probability=SECOND_OPINION_CONFIDENCE - 0.01)
    assert _with(advisor, unsure_model).ask(EVERYDAY) == _with(advisor, None).ask(EVERYDAY)


def test_another_verdict_it_leans_to_is_answered_by_a_case_with_that_verdict(advisor):
    assert _with(advisor, None).ask(UNSURE).verdict is Verdict.ASK_HEADTEACHER
    leaned = _with(advisor, Sure(Verdict.NOT_ALLOWED)).ask(UNSURE)
    assert leaned.verdict is Verdict.NOT_ALLOWED and not leaned.confident
    case = next(case for case in advisor.knowledge.situations if f"second_opinion:{case.situation_id}" == leaned.situation)
    assert case.verdict is Verdict.NOT_ALLOWED and leaned.citations[0] in case.citations
    # Found through a clause rather than through what was asked: the verdict in general words, not the
    # case's own (which may be about a friend request).
    section = leaned.citations[0].section
    assert leaned.answer == advisor.knowledge.derived_texts["not_allowed_answer"].replace("{section}", section)


def test_it_gives_up_a_guess_for_out_of_scope_only_when_the_cases_were_unsure(advisor):
    sure_of_nothing = _with(advisor, Sure(Verdict.OUT_OF_SCOPE))
    assert sure_of_nothing.ask(UNSURE).verdict is Verdict.OUT_OF_SCOPE
    confident = "Can I post a picture of the children in my class on my personal Facebook page?"
    assert sure_of_nothing.ask(confident).verdict is Verdict.NOT_ALLOWED


def test_another_schools_policy_hears_it_among_its_own_rules_only(tmp_path):
    policy = FIXTURES / "policies" / "st_aidans.txt"
    other = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    assert other.model is not None
    text = " ".join(policy.read_text(encoding="utf-8").split())
    # The model leans to "no" here; the answer is St Aidan's own rule, in St Aidan's own words.
    leaning = _with(other, Sure(Verdict.NOT_ALLOWED))
    answer = leaning.ask(UNSURE)
    assert answer.verdict is Verdict.NOT_ALLOWED and not answer.confident
    assert answer.citations and all(" ".join(c.quote.split()) in text for c in answer.citations)
    for question in _questions():
        assert _with(other, Sure(Verdict.ALLOWED)).ask(question).verdict == _with(other, None).ask(question).verdict


def test_a_missing_or_damaged_model_leaves_the_cases_alone(tmp_path):
    assert VerdictModel.load(meta_path=tmp_path / "none.json") is None
    meta = tmp_path / "meta.json"
    meta.write_text(BUNDLED_MODEL_META.read_text(encoding="utf-8"), encoding="utf-8")
    short = tmp_path / "short.bin"
    short.write_bytes(BUNDLED_MODEL.read_bytes()[:100])
    assert VerdictModel.load(weights_path=short, meta_path=meta) is None


def test_the_shipped_model_is_what_its_question_sets_train(tmp_path):
    # Deterministic: retraining on the sets it names gives the same bytes, so the shipped file is up to date.
    trained_on = json.loads(BUNDLED_MODEL_META.read_text(encoding="utf-8"))["trained_on"]
    assert sorted(trained_on) == sorted(path.name for path in FIXTURES.glob("*questions*.jsonl") if path.parent == FIXTURES)
    weights, bias = train_verdicts.train(train_verdicts.read_sets([FIXTURES / name for name in trained_on]))
    save(weights=weights, bias=bias, trained_on=trained_on,
         weights_path=tmp_path / "model.bin", meta_path=tmp_path / "model.json")
    assert (tmp_path / "model.bin").read_bytes() == BUNDLED_MODEL.read_bytes()
    assert json.loads((tmp_path / "model.json").read_text()) == json.loads(BUNDLED_MODEL_META.read_text())


def test_whom_to_tell_about_a_child_at_risk_is_not_the_models_to_doubt(advisor):
    question = "A pupil just DM'd me on instagram saying 'i dont want to be alive anymore' — what do i do??"
    assert _with(advisor, None).ask(question).verdict is Verdict.REPORT
    assert _with(advisor, Sure(Verdict.ASK_HEADTEACHER)).ask(question).verdict is Verdict.REPORT
    # A post about one is the cases' and the model's alike.
    post = "if I delete it after an hour can I post about the safeguarding meeting we had today? no names obviously"
    assert _with(advisor, Sure(Verdict.NOT_ALLOWED)).ask(post).verdict is Verdict.NOT_ALLOWED
