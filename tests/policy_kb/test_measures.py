"""Ages and years since leaving, read as numbers from a policy's lines and from a question."""

import pytest

from policy_kb.measures import MIN_AGE, MIN_YEARS_LEFT, measures_in, policy_thresholds


@pytest.mark.parametrize("condition,limits", [
    ("once the former pupil has turned 21", ((MIN_AGE, ("21",)),)),
    ("aged 18 or over", ((MIN_AGE, ("18",)),)),
    ("alumni aged 18+", ((MIN_AGE, ("18",)),)),
    ("until the former pupil is 25 or over, however long ago they left", ((MIN_AGE, ("25",)),)),
    ("at least three full years have passed since they left", ((MIN_YEARS_LEFT, ("3",)),)),
    ("once the former pupil is 18 and left the school at least two years ago", ((MIN_AGE, ("18",)), (MIN_YEARS_LEFT, ("2",)))),
    ("within 48 hours of returning", ()),
    ("former pupils under 18", ()),
])
def test_a_policys_line(condition, limits):
    assert policy_thresholds(condition) == limits


@pytest.mark.parametrize("question,measures", [
    ("an ex pupil of mine is 19 now and added me", {(MIN_AGE, 19)}),
    ("she's 22 now and left the trust secondary about 5 years ago", {(MIN_AGE, 22), (MIN_YEARS_LEFT, 5)}),
    ("girl who left after Y11 in July (went to college, she's 16)", {(MIN_AGE, 16), (MIN_YEARS_LEFT, 0)}),
    ("a lad who left two summers ago (he's 20 now)", {(MIN_AGE, 20), (MIN_YEARS_LEFT, 2)}),
    ("he's nearly 18", {(MIN_AGE, 17)}),
    ("can i post at 8am before the kids come in", set()),
    ("year 6 is 28 pupils this year", set()),
])
def test_what_a_question_says(question, measures):
    assert measures_in(question) == measures
