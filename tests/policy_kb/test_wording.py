"""A rule's verdict read from its wording, conditions kept."""

import pytest

from policy_kb.answer import Verdict
from policy_kb.wording import conditions_of_what_it_does_not_prevent, decided_by, has_condition

CASES = [
    ("Staff must not accept friend requests from pupils.", Verdict.NOT_ALLOWED),
    ("Employees are not permitted to connect with pupils through personal social media accounts.", Verdict.NOT_ALLOWED),
    ("Staff must not be friends with parents unless the friendship came first and has been declared to the headteacher.", Verdict.ASK_HEADTEACHER),
    ("Class blogs need the Principal's prior approval.", Verdict.ASK_HEADTEACHER),
    ("please ask the headteacher first if you want to run a public account.", Verdict.ASK_HEADTEACHER),
    ("Any contact attempt by a pupil must be reported to the DSL within 24 hours.", Verdict.REPORT),
    ("Staff are encouraged to share the academy's official posts.", Verdict.ALLOWED),
    ("Staff may connect with colleagues on social media.", Verdict.ALLOWED),
    # A permission with limits: whether a question meets them is the headteacher's to say.
    ("Personal phones may be used only in the staffroom at lunchtime.", Verdict.ASK_HEADTEACHER),
    ("This policy is not intended to prevent the use of social media.", Verdict.ALLOWED),
    ("Staff do not need approval for personal accounts that have nothing to do with education.", Verdict.ALLOWED),
    # A duty lifted forbids nothing; a relative clause describing what is shared limits no one.
    ("No one is expected to reply to colleagues outside working hours.", Verdict.ALLOWED),
    ("Staff are encouraged to share posts from the school's official accounts, which are approved and covered by consent.", Verdict.ALLOWED),
    # Consequences and descriptions are not permissions.
    ("Staff may be subject to disciplinary action.", None),
    ("Social media means any website or app that lets people share content.", None),
    # A quick guide's question is answered by the sentence after it.
    ("Can I be friends on Facebook with a parent I knew before their child joined the Academy?", None),
]


@pytest.mark.parametrize("sentence,verdict", CASES)
def test_wording_gives_the_verdict(sentence, verdict):
    assert decided_by(sentence) is verdict


def test_a_bullet_takes_its_wording_from_the_line_introducing_it():
    assert decided_by("accept friend requests from pupils;", lead_in="Staff must not:") is Verdict.NOT_ALLOWED
    assert decided_by("post photos of pupils unless the headteacher has approved it;", lead_in="Staff must not:") is Verdict.ASK_HEADTEACHER
    assert decided_by("not post photos of pupils on personal accounts;", lead_in="Employees must:") is Verdict.NOT_ALLOWED


def test_what_the_school_may_do_is_no_permission_for_staff():
    assert decided_by("The federation may monitor the use of federation devices and networks.") is None
    assert decided_by("The school may monitor devices, and staff may use them for work.") is Verdict.ALLOWED


def test_what_the_policy_counts_as_a_breach_is_forbidden():
    assert decided_by("Refusing to remove it is a separate breach.") is Verdict.NOT_ALLOWED


def test_whose_agreement_may_be_written_with_an_apostrophe():
    sentence = "Staff expecting an urgent call must seek the headteacher's agreement before keeping their phone on them."
    assert decided_by(sentence) is Verdict.ASK_HEADTEACHER


def test_a_manner_asked_of_staff_is_no_condition_and_what_is_not_prevented_is_limited_by_its_condition_only():
    sentence = ("Nothing in this policy is intended to stop staff from sharing family news, holiday photographs or hobbies, "
                "provided that they do so responsibly.")
    assert not has_condition(sentence)
    assert conditions_of_what_it_does_not_prevent(sentence) == ""
    assert conditions_of_what_it_does_not_prevent(
        "This policy is not intended to stop staff posting holiday photos if no pupil appears.") == "if no pupil appears."
    assert has_condition("Staff may post photographs of staff events provided no pupil appears.")
    assert conditions_of_what_it_does_not_prevent("Staff must not post photographs of pupils.") is None
