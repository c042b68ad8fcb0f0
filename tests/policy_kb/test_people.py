"""The headteacher as the school's policy names them: "I've told Mr Okafor" is telling the headteacher."""

import pytest

from policy_kb.advisor import Advisor
from policy_kb.answer import Verdict
from policy_kb.people import people_named


@pytest.mark.parametrize("text,people", [
    ("Headteacher: Mr D. Okafor", {"mr okafor": "the headteacher"}),
    ("At Marsh Lane, the headteacher, Mr G. Osei, is also the Designated Safeguarding Lead (DSL).", {"mr osei": "the headteacher"}),
    ('In this code, "the headteacher" means Mrs A. Whitfield.', {"mrs whitfield": "the headteacher"}),
    ("Questions about this guidance: me, Mr David Ashworth, Headteacher.", {"mr ashworth": "the headteacher"}),
    ("Headteacher and DSL: Mrs E. Carter Deputy DSL: Mr J. Price (Class 2 teacher)", {"mrs carter": "the headteacher"}),
    # A deputy, a DSL or a chair of governors is not the headteacher, nor is whom a concern about the head goes to.
    ("Designated Safeguarding Lead (DSL): Mrs K. Patel (Deputy Headteacher)", {}),
    ("Concerns about the headteacher, including my own online behaviour: Mrs Ruth Okafor, Chair of Governors.", {}),
    ("If your concern is about the headteacher, tell the chair of governors, Mr David Hale, through the clerk.", {}),
])
def test_who_the_policy_names_as_headteacher(text, people):
    assert people_named([text]) == people


NAMED_HEAD = """Oakfield Primary School: Staff Social Media Policy

Key contacts
Headteacher: Mr D. Okafor

Pupils who are relatives
Where a pupil is a relative of a staff member, the staff member may stay connected with them on social media, provided the relationship is declared to the headteacher.
"""


@pytest.mark.parametrize("told,verdict", [("mr okafor", Verdict.ALLOWED), ("mrs jones", Verdict.ASK_HEADTEACHER)])
def test_a_question_naming_the_headteacher_meets_a_duty_to_tell_them(tmp_path, told, verdict):
    (tmp_path / "policy.txt").write_text(NAMED_HEAD, encoding="utf-8")
    advisor = Advisor.load(policy_path=tmp_path / "policy.txt", cache_dir=tmp_path)
    assert advisor.ask(f"my niece is in yr3 here, can i stay friends with her on fb? ive already told {told}").verdict is verdict


CONTACTS = """Marsh Lane Primary School: Staff Social Media Policy

Introduction
At Marsh Lane, the headteacher, Mr G. Osei, is also the Designated Safeguarding Lead (DSL). The office manager is Ms B. Kaur.

Reporting
Report any online safeguarding concern to the DSL the same day.
"""


def test_who_holds_a_role_is_the_clause_that_names_them(tmp_path):
    (tmp_path / "policy.txt").write_text(CONTACTS, encoding="utf-8")
    advisor = Advisor.load(policy_path=tmp_path / "policy.txt", cache_dir=tmp_path)
    answer = advisor.ask("who's the DSL here?")
    assert answer.verdict is Verdict.INFO and "Mr G. Osei" in answer.citations[0].quote
    # A concern that names the DSL is still a concern.
    assert advisor.ask("who's the DSL? a pupil in my class just told me someone online is asking her for photos").verdict is Verdict.REPORT
    # A role the policy names nobody for is not made up.
    assert advisor.ask("who's the chair of governors?").situation != "role_holder"
