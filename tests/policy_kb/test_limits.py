"""A permission with limits, checked against the question: within every limit the policy names is its own
exception (a yes, when the sentence sets no condition the limits miss), outside one is a no, and a question
that does not say stays with the headteacher."""

from pathlib import Path

import pytest

from policy_kb.advisor import Advisor
from policy_kb.answer import Verdict
from policy_kb.derive import _concepts
from policy_kb.limits import Fit

PHONES = "Personal mobile phones may be used only in the staffroom and off-site, and only during breaks, including lunch."
LUNCH_ONLY = "You may use your phone only in the staff room at lunchtime."
KNEW_BEFORE = ("Staff may accept friend requests from parents they knew before the child joined the school, once the "
               "connection has been declared to the headteacher.")


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


def limits_of(advisor, sentence):
    return advisor.knowledge.limit_dimensions.of_sentence(sentence, lambda text: _concepts(advisor.matcher, text))


def fit(advisor, sentence, question):
    return advisor.knowledge.limit_dimensions.fit(limits_of(advisor, sentence), advisor.matcher.read(question).concepts)


def test_a_sentence_says_where_and_when_its_permission_holds(advisor):
    assert limits_of(advisor, PHONES) == (("place", ("off_site", "staffroom")), ("time", ("break_time", "lunch_time")))
    assert limits_of(advisor, LUNCH_ONLY) == (("place", ("staffroom",)), ("time", ("lunch_time",)))
    assert limits_of(advisor, "Staff may connect with colleagues on social media.") == ()


@pytest.mark.parametrize("sentence,question,expected", [
    (PHONES, "popping to Greggs on my lunch, can I reply to my fb messages while I'm out?", Fit.MET),
    (PHONES, "sitting in my car in the school car park at lunch scrolling fb, thats fine isnt it", Fit.BROKEN),
    # Lunch is a break; a morning break is not lunch.
    (PHONES, "Can I check insta in the staff room at morning break?", Fit.MET),
    (LUNCH_ONLY, "Can I check insta in the staff room at morning break?", Fit.BROKEN),
    (LUNCH_ONLY, "is it ok to use my phone in the staff room at lunchtime to look at facebook?", Fit.MET),
    # Every place named must be one allowed.
    (LUNCH_ONLY, "can i check my phone in the PPA room at lunch? it's quieter than the staff room", Fit.BROKEN),
    (LUNCH_ONLY, "can I check facebook on my phone?", Fit.UNSAID),
    ("Once a former pupil is 18 or over, staff may be connected with them.", "A lad I taught in Y6 just added me, he's 19 now", Fit.MET),
    ("Staff may stay connected with a parent who was a close friend before their child joined, provided they have told the headteacher.",
     "mates with her since uni, way before her son started, and I told the head in September", Fit.MET),
    # The whole sentence limits its rule: a declaration alone does not make a stranger an old friend.
    (KNEW_BEFORE, "a parent I don't know sent me a friend request, I told the head about it", Fit.UNSAID),
    (KNEW_BEFORE, "we were best friends long before her daughter started here and I told the head", Fit.MET),
    # "Staff who are related to a pupil may…" is a yes for relatives only.
    ("Staff who are related to a pupil or former pupil may have normal family contact with them.",
     "a former pupil who's 16 now, we used to be neighbours, wants to follow me", Fit.BROKEN),
])
def test_a_question_within_or_outside_the_limits(advisor, sentence, question, expected):
    assert fit(advisor, sentence, question) is expected


POLICY = """Riverbank Primary School: Staff Social Media Policy

Phones and devices
Personal mobile phones may be used only in the staffroom and off-site, and only during breaks, including lunch.
Staff must not use school computers for personal social media.
"""


@pytest.fixture(scope="module")
def phones_policy(tmp_path_factory) -> Path:
    path = Path(tmp_path_factory.mktemp("policy")) / "riverbank.txt"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def phones_advisor(phones_policy) -> Advisor:
    return Advisor.load(policy_path=phones_policy, cache_dir=phones_policy.parent)


@pytest.mark.parametrize("sentence,every_condition_read", [
    (PHONES, True),
    (LUNCH_ONLY, True),
    (KNEW_BEFORE, True),
    ("Once a former pupil is 18 or over, staff may be connected with them on social media.", True),
    # Examples in brackets are no condition; a condition opening the sentence runs to its comma.
    ("Where a pupil is a member of the staff member's family (for example their own child, niece or nephew), staff "
     "may be connected with that pupil, provided the relationship has been declared to the headteacher.", True),
    # How old and how long ago are read as numbers (policy_kb.measures).
    ("Staff may accept former pupils once they are 18 and have left the school at least two years ago.", True),
    # Conditions no limit reads: who else is in the photo, a deadline, where they went next.
    ("Staff may accept former pupils once they are 18 and have left secondary school.", False),
    ("You may post photos with colleagues, as long as they are happy with it and no pupils can be seen.", False),
    ("Staff may remain connected with a parent they knew before, provided it is declared within ten working days.", False),
    # "where staff may…" says where the permission holds; it sets no condition of its own.
    ("The exception is LinkedIn and similar professional networking sites, where staff may name the school as "
     "their employer.", True),
    # What the school must have done first no limit reads.
    ("Once the school has posted about a public event on its Facebook page, staff may share that post.", False),
])
def test_a_yes_within_limits_needs_every_condition_read(advisor, sentence, every_condition_read):
    read = advisor.knowledge.limit_dimensions.reads_every_condition(sentence, lambda text: _concepts(advisor.matcher, text))
    assert read is every_condition_read


@pytest.mark.parametrize("question,verdict", [
    # Within every limit of a sentence whose every condition is read: the policy's own yes.
    ("popping into town on my lunch, can I go on facebook on my phone while I'm out?", Verdict.ALLOWED),
    ("can I scroll instagram on my phone in my car in the car park at lunch?", Verdict.NOT_ALLOWED),
])
def test_another_schools_limited_permission_is_read_against_the_question(phones_advisor, question, verdict):
    answer = phones_advisor.ask(question)
    assert answer.verdict is verdict, answer
    assert answer.citations[0].quote == PHONES


def test_a_question_that_does_not_say_is_never_a_yes(phones_advisor):
    # It may be a check first or, with the verdict model sure of a no, a no (policy_kb/QUALITY.md).
    assert phones_advisor.ask("can I go on instagram on my phone at school?").verdict is not Verdict.ALLOWED


def test_the_limits_survive_the_cache(phones_advisor, phones_policy):
    assert list(phones_policy.parent.glob("policy-rules-*.json"))
    cached = Advisor.load(policy_path=phones_policy, cache_dir=phones_policy.parent)
    limited = [s for s in cached.knowledge.situations if s.limits]
    assert limited and limited == [s for s in phones_advisor.knowledge.situations if s.limits]


@pytest.mark.parametrize("rule,question", [
    # A condition the limits do not read keeps a question within them a "check first".
    ("Staff may accept friend requests from former pupils once they are 18 and have left the school at least two years ago.",
     "a lad I taught in Y6 just added me on facebook, he's 19 now. ok to accept?"),
    # A duty the clause adds in its next sentence is a limit too: a question that does not meet it is not a yes.
    ("Where a pupil is a member of the staff member's family (for example a niece or nephew), ordinary family "
     "contact online is permitted. "
     "The relationship must be declared to the headteacher.",
     "my niece is in year 5, can she stay in our family whatsapp group with me?"),
])
def test_a_condition_the_limits_do_not_read_is_never_a_yes(tmp_path, rule, question):
    policy = tmp_path / "policy.txt"
    policy.write_text(f"Ashby Fields Primary School: Staff Social Media Policy\n\nPupils and former pupils\n{rule}\n",
                      encoding="utf-8")
    answer = Advisor.load(policy_path=policy, cache_dir=tmp_path).ask(question)
    assert answer.verdict is Verdict.ASK_HEADTEACHER, answer


def test_a_duty_met_in_the_question_makes_the_yes(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "Ashby Fields Primary School: Staff Social Media Policy\n\nPupils and former pupils\n"
        "Where a pupil is a member of the staff member's family (for example a niece or nephew), ordinary family "
        "contact online is permitted. "
        "The relationship must be declared to the headteacher.\n", encoding="utf-8")
    advisor = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    answer = advisor.ask("my niece is in year 5 and I declared it to the head. can she stay in our family whatsapp group with me?")
    assert answer.verdict is Verdict.ALLOWED, answer


def test_an_answer_the_policys_own_limits_decide_is_not_the_verdict_models_to_redraw(phones_advisor):
    from policy_kb.verdict_model import Opinion

    class SureItIsNo:
        def opinion(self, question: str) -> Opinion:
            return Opinion(Verdict.NOT_ALLOWED, 0.999)

    doubting = Advisor(phones_advisor.document, phones_advisor.knowledge, rules=phones_advisor.rules, model=SureItIsNo())
    answer = doubting.ask("popping into town on my lunch, can I go on facebook on my phone while I'm out?")
    assert answer.verdict is Verdict.ALLOWED and answer.citations[0].quote == PHONES
    assert "in the circumstances you describe" in answer.answer


@pytest.mark.parametrize("rule,question", [
    ("Staff must not use personal phones in classrooms or on the playground, except in an emergency.",
     "can I use my phone in my classroom during lessons?"),
    ("Staff must not use social media during lessons unless the headteacher has agreed it.",
     "can I go on facebook during lessons?"),
])
def test_where_a_prohibition_holds_is_never_its_way_out(tmp_path, rule, question):
    # Only what follows "except" or "unless" limits a no: the classroom and the lesson are where it holds.
    policy = tmp_path / "policy.txt"
    policy.write_text(f"Ashby Fields Primary School: Staff Social Media Policy\n\nPhones\n{rule}\n", encoding="utf-8")
    assert Advisor.load(policy_path=policy, cache_dir=tmp_path).ask(question).verdict is not Verdict.ALLOWED


def test_bullets_a_pdf_ran_together_set_no_limits(tmp_path):
    # Lists whose bullets lost their marks in a PDF read as one long "sentence" of permissions and
    # prohibitions: the places and times in it are no one rule's limits.
    run_together = (
        "Staff may use your own phone in the staffroom, the school office or your car at any time when you are "
        "not responsible for children, including during PPA or other non-contact time, not only at lunch use a "
        "school laptop for personal browsing during your break, as long as you log out properly afterwards take "
        "your phone on a trip or off-site visit so you can ring school have your phone out in classrooms, the hall, "
        "the dining hall or the playground while children are there take photos of pupils on a personal phone."
    )
    policy = tmp_path / "policy.txt"
    policy.write_text(f"Little Haddon Primary School: Staff Social Media Guidance\n\nPhones\n{run_together}\n", encoding="utf-8")
    answer = Advisor.load(policy_path=policy, cache_dir=tmp_path).ask(
        "can i just reply to a text on my phone while i'm on playground duty, literally 10 secs")
    assert answer.verdict is not Verdict.ALLOWED


FRIENDS_POLICY = (
    "Ashby Fields Primary School: Staff Social Media Policy\n\nParents and carers\n"
    "Staff must not send or accept friend requests to or from parents of current pupils.\n"
    "Where a pupil is a member of the staff member's family (for example a niece or nephew), staff may be connected "
    "with that pupil on social media, provided the relationship has been declared to the headteacher.\n"
    "Staff may remain friends on social media with a parent where the friendship existed before the child joined "
    "the school, provided it has been declared to the headteacher. Any such friendship that has not yet been declared "
    "must be declared to the headteacher as soon as the staff member becomes aware of it.\n"
)


@pytest.fixture(scope="module")
def friends_advisor(tmp_path_factory):
    folder = tmp_path_factory.mktemp("friends")
    policy = folder / "policy.txt"
    policy.write_text(FRIENDS_POLICY, encoding="utf-8")
    return Advisor.load(policy_path=policy, cache_dir=folder)


def test_another_sentence_of_the_policy_is_its_own_exception(friends_advisor):
    # The case's rule rests on one sentence (a relative); a friendship that came first, declared, is another's yes.
    answer = friends_advisor.ask("I'm best mates with a dad whose kid is in Y4, we were friends years before his son "
                                 "started here and the head knows all about it. Is it ok to stay friends on facebook?")
    assert answer.verdict is Verdict.ALLOWED, answer
    assert "existed before the child joined" in answer.citations[0].quote


@pytest.mark.parametrize("question", [
    # The friendship came first but nobody has been told: the duty is not met.
    "I'm best mates with a dad whose kid is in Y4, we were friends years before his son started here. Can we stay friends on facebook?",
    # Told the head, but no friendship before: neither exception is met.
    "a Y4 dad added me on facebook, I told the head. ok to accept?",
])
def test_an_exception_half_met_is_no_yes(friends_advisor, question):
    assert friends_advisor.ask(question).verdict is not Verdict.ALLOWED


def test_the_exceptions_survive_the_cache(friends_advisor, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(FRIENDS_POLICY, encoding="utf-8")
    Advisor.load(policy_path=policy, cache_dir=tmp_path)
    cached = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    assert [s.permissions for s in cached.knowledge.situations] == [s.permissions for s in friends_advisor.knowledge.situations]
    assert any(s.permissions for s in cached.knowledge.situations)


def test_a_prohibitions_exception_is_no_yes_for_another_act(tmp_path):
    # "…except during your lunch break" answers for posting; phone use in a classroom at lunch is another rule's.
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "Marsh Lane Primary School: Staff Social Media Policy\n\nPhones\n"
        "Can I use it in my classroom? Only before 8.15am or after 3.45pm, and only when no children are in the room.\n"
        "You must not post anything on social media during the working day, except during your lunch break.\n",
        encoding="utf-8")
    answer = Advisor.load(policy_path=policy, cache_dir=tmp_path).ask("can i use my phone in my classroom at lunch, no kids in there")
    assert answer.verdict is not Verdict.ALLOWED


def test_a_permission_that_names_the_case_only_to_rule_it_out_is_no_yes(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "Kingsmoor School: Staff Social Media Policy\n\nStaff group chats\n"
        "You may use a staff WhatsApp group for social plans and for general reminders that contain no pupil or "
        "parent information.\n", encoding="utf-8")
    answer = Advisor.load(policy_path=policy, cache_dir=tmp_path).ask(
        "I don't have kids at the school but want to join the parents' facebook group to keep an eye on what's said about us")
    assert answer.verdict is not Verdict.ALLOWED


def load_policy(tmp_path, heading: str, rule: str) -> Advisor:
    policy = tmp_path / "policy.txt"
    policy.write_text(f"Ashby Fields Primary School: Staff Social Media Policy\n\n{heading}\n{rule}\n", encoding="utf-8")
    return Advisor.load(policy_path=policy, cache_dir=tmp_path)


@pytest.mark.parametrize("question,verdicts", [
    ("ex pupil is 19, wants to connect on linkedin", {Verdict.ALLOWED}),
    # Another platform is outside the permission; a question that does not say which is the headteacher's.
    ("ex pupil is 19, wants to follow me on insta", {Verdict.NOT_ALLOWED}),
    ("ex pupil is 20, can i connect with him", {Verdict.ASK_HEADTEACHER, Verdict.NOT_ALLOWED}),
])
def test_which_network_a_permission_names_is_one_of_its_limits(tmp_path, question, verdicts):
    advisor = load_policy(tmp_path, "Contact with former pupils",
                          "Staff may connect with former pupils on LinkedIn once the former pupil is aged 18 or over.")
    assert advisor.ask(question).verdict in verdicts


@pytest.mark.parametrize("question,verdict", [
    ("can i use chatgpt to plan a generic year 4 fractions lesson? no pupil info in it at all", Verdict.ALLOWED),
    ("can i put my class's names and reading ages into chatgpt to write their reports?", Verdict.NOT_ALLOWED),
])
def test_a_condition_that_rules_something_out_is_met_by_a_question_that_rules_it_out(tmp_path, question, verdict):
    advisor = load_policy(tmp_path, "Artificial intelligence tools",
                          "Staff may use ChatGPT for lesson planning and creating resources, provided no pupil data is entered.")
    assert advisor.ask(question).verdict is verdict


def test_a_limit_the_question_says_is_not_met_is_broken(tmp_path):
    advisor = load_policy(tmp_path, "Pupils who are relatives",
                          "Where a pupil is a relative of a staff member, the staff member may stay connected with them on "
                          "social media, provided the relationship is declared to the headteacher.")
    assert advisor.ask("my nephew is in yr4, can i stay friends with him on insta? i've told the head").verdict is Verdict.ALLOWED
    answer = advisor.ask("my nephew is in yr4, can i stay friends with him on insta? haven't mentioned it to anyone at school")
    assert answer.verdict is Verdict.NOT_ALLOWED


def test_a_condition_naming_another_clause_is_not_read_here(advisor):
    sentence = "Staff may express personal political views, provided they do not identify the school and comply with 4.7."
    read = advisor.knowledge.limit_dimensions.reads_every_condition(
        sentence, lambda text: _concepts(advisor.matcher, text), lambda text: advisor.matcher.read(text).ruled_out)
    assert not read


@pytest.mark.parametrize("policy_words", ["aged 18 or over", "18 or older", "over 18"])
def test_a_policys_way_of_saying_adult_is_the_age_limit(advisor, policy_words):
    assert "adult_now" in advisor.matcher.read(f"once the former pupil is {policy_words}").concepts
    assert "adult_now" not in advisor.matcher.read("former pupils under 18").concepts


STAFF_AREAS = ("Staff may use personal devices, including for personal social media, in staff-only areas at any time "
               "when no pupils are present, including during breaks, lunchtime, PPA time and before and after the school day.")


def test_at_any_time_sets_no_time_and_its_examples_are_no_conditions(advisor, tmp_path):
    assert "time" not in dict(limits_of(advisor, STAFF_AREAS))
    answer = load_policy(tmp_path, "Mobile phones", STAFF_AREAS).ask(
        "is it ok to reply to my mum's whatsapp on my phone in the staff room at 8am before the kids come in?")
    assert answer.verdict is Verdict.ALLOWED, answer


@pytest.mark.parametrize("question,expected", [
    # A staff room has no pupils in it; "before the kids come in" says they are not there.
    ("can i go on insta in the staffroom during my PPA?", Fit.MET),
    ("can i check insta on my phone in my classroom before the kids come in?", Fit.MET),
    ("can i check facebook in my classroom while the kids are doing their spellings?", Fit.BROKEN),
])
def test_where_no_pupils_are_present_is_read_from_where_and_when(advisor, question, expected):
    sentence = "Staff may use social media on their own phone at any time, provided no children are present."
    reading = advisor.matcher.read(question)
    limits = advisor.knowledge.limit_dimensions.of_sentence(
        sentence, lambda text: _concepts(advisor.matcher, text), lambda text: advisor.matcher.read(text).ruled_out)
    assert advisor.knowledge.limit_dimensions.fit(limits, reading.concepts, reading.ruled_out) is expected


@pytest.mark.parametrize("rule,question,verdict", [
    ("Employees may accept a connection request from a former pupil once the former pupil has turned 21.",
     "ex pupil is 22 now, can i accept his request on insta?", Verdict.ALLOWED),
    ("Employees may accept a connection request from a former pupil once the former pupil has turned 21.",
     "ex pupil is 19 now and at uni, can i accept his insta request", Verdict.NOT_ALLOWED),
    # "An adult" meets a line drawn at 18, not one drawn at 21.
    ("Employees may accept a connection request from a former pupil once the former pupil has turned 21.",
     "an ex pupil who's an adult now added me on insta, can i accept?", Verdict.ASK_HEADTEACHER),
    ("Staff may accept friend requests from former pupils once the former pupil is 18 and left the school at least "
     "two years ago.", "ex pupil sent me a friend req on insta, shes 20 now and left like 9 yrs ago. ok to accept??",
     Verdict.ALLOWED),
    ("Staff may accept friend requests from former pupils once the former pupil is 18 and left the school at least "
     "two years ago.", "one of my old students is 19 and finished last summer. can i accept his fb request", Verdict.NOT_ALLOWED),
])
def test_a_line_drawn_at_an_age_or_years_since_leaving_is_read_as_a_number(tmp_path, rule, question, verdict):
    assert load_policy(tmp_path, "Former pupils", rule).ask(question).verdict is verdict


@pytest.mark.parametrize("question,verdict", [
    ("ex pupil is 23 now, can i accept him on fb", Verdict.ALLOWED),
    ("ex pupil is 19 now, can i accept him on fb", Verdict.NOT_ALLOWED),
])
def test_a_prohibition_until_an_age_is_its_way_through_at_that_age(tmp_path, question, verdict):
    advisor = load_policy(
        tmp_path, "Contact with former pupils",
        "Staff may connect with former pupils on LinkedIn once the former pupil is aged 18 or over.\n"
        "Connections with former pupils on any other platform are not permitted until the former pupil is aged 21 or over.")
    assert advisor.ask(question).verdict is verdict


RECOMMENDATIONS = ("Staff may give LinkedIn recommendations to current or former colleagues, provided the "
                   "recommendation states that it is a personal view.")
OFF_DUTY = ("You can use your own phone in the staff workroom or in your car at any time, except when you are on a "
            "timetabled duty (playground, lunch hall or gate duty).")


@pytest.mark.parametrize("rule,answers", [
    # A disclaimer the policy asks for is one of its limits.
    (RECOMMENDATIONS, {"my TA is leaving, can I write her a LinkedIn recommendation? I'll say it's my personal view": Verdict.ALLOWED,
                       "my TA is leaving, can I write her a LinkedIn recommendation?": Verdict.ASK_HEADTEACHER}),
    # What a permission leaves out is a circumstance the question must rule out.
    (OFF_DUTY, {"can i use my phone sat in my car at lunch? im not on any duty today": Verdict.ALLOWED,
                "can i use my phone in my car at lunch while I'm on gate duty?": Verdict.NOT_ALLOWED,
                "can i use my phone in my car at lunch?": Verdict.ASK_HEADTEACHER}),
])
def test_a_disclaimer_and_a_circumstance_left_out_are_limits(tmp_path, rule, answers):
    advisor = load_policy(tmp_path, "Personal use of social media", rule)
    assert {question: advisor.ask(question).verdict for question in answers} == answers


def test_a_relationship_a_permission_leaves_out_gives_no_yes(tmp_path):
    advisor = load_policy(tmp_path, "Parents", "You may be friends online with parents, unless you teach or support their child's class this year.")
    assert advisor.ask("a yr3 mum is my bestie, im in yr5 this year. can we stay friends on fb?").verdict is not Verdict.ALLOWED


@pytest.mark.parametrize("sentence", [
    "You may use your phone in the staff room whenever you are not responsible for children.",
    "Staff may post photographs of colleagues taken at staff social events away from academy premises, provided the "
    "colleague agrees and the image does not identify the academy.",
])
def test_when_and_a_verbs_own_not_are_read_as_one_condition(advisor, sentence):
    dimensions = advisor.knowledge.limit_dimensions
    assert limits_of(advisor, sentence)
    assert dimensions.reads_every_condition(sentence, lambda text: _concepts(advisor.matcher, text),
                                            lambda text: advisor.matcher.read(text).ruled_out)


@pytest.mark.parametrize("words", ["provided the colleague agrees", "each colleague pictured has agreed",
                                   "everyone in it is fine with it", "they're all happy for me to"])
def test_the_people_pictured_agreeing(advisor, words):
    assert "their_consent" in advisor.matcher.read(words).concepts


def test_a_connection_is_made_in_a_personal_capacity(tmp_path):
    # "…in a personal capacity" is a disclaimer a view must carry; a friend request is made as oneself.
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "Ashby Fields Primary School: Staff Social Media Policy\n\nPupils and former pupils\n"
        "Once a former pupil is 18 or over, staff may connect and communicate with them on social media in a personal "
        "capacity.\n", encoding="utf-8")
    advisor = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    assert advisor.ask("ex pupil now 22 wants to connect on linkedin, is that ok").verdict is Verdict.ALLOWED
    assert advisor.ask("a former pupil added me on insta, she is 15 now. can I accept?").verdict is Verdict.NOT_ALLOWED
