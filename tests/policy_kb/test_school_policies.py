"""Another school's own policy: rules read from its text, quoted from its text, never a wrong yes.

The policies in tests/fixtures/policies were written, with their questions, by helpers who never saw
policy_kb/; each comes as the helper wrote it and as Word and PDF."""

import json
from pathlib import Path

import pytest

from policy_kb.advisor import Advisor
from policy_kb.answer import Verdict
from policy_kb.knowledge import _normalise

POLICIES = Path(__file__).parent.parent / "fixtures" / "policies"
SCHOOLS = {
    "hollins_green": ("Hollins Green Primary School", "md"),
    "brook_lane": ("Brook Lane Academy", "md"),
    "st_aidans": ("St Aidan's Church of England Primary School", "txt"),
    "meadowbank": ("Meadowbank Infant School", "md"),
    "oakfield": ("St Joseph's Catholic Primary School", "md"),
    "riverside": ("Riverside Nursery and Primary School", "md"),
    "thornfield": ("Thornfield Church of England Voluntary Controlled Junior School", "md"),
    "ashby_fields": ("Ashby Fields Primary Academy", "md"),
    "little_haddon": ("Little Haddon Primary School", "md"),
    "kingsmoor": ("Kingsmoor Nursery and Infant School and Kingsmoor Junior School", "md"),
    "fenwick": ("Fenwick Road Nursery School", "md"),
    "ferncombe": ("Ferncombe Academy", "md"),
    "harrowfield": ("Harrowfield School", "md"),
    "walsingham": ("Our Lady of Walsingham Catholic Primary School", "md"),
    "st_michael": ("St Michael and All Angels Church of England Infant School", "md"),
    "wolds": ("Hatherby Church of England Primary School and Kelstone Primary School", "md"),
    "fairlight": ("Fairlight Primary School", "md"),
    "marlowe": ("Marlowe Junior School", "md"),
    "glenbrae": ("Glenbrae Primary School", "md"),
    "st_columba": ("St Columba's Primary School", "md"),
    "hartwell": ("Hartwell House Preparatory School", "md"),
    "brackenridge": ("Brackenridge CE Primary School and Low Fell CE Infant School", "md"),
    # Written to test permissions with conditions (policy_kb/QUALITY.md): markdown only.
    "conditions_1": ("Oakfield Primary School", "md"),
    "conditions_2": ("St Bede's Church of England Primary School", "md"),
    "conditions_3": ("Hollybrook Primary Academy", "md"),
    "conditions_4": ("Marsh Lane Community Primary School", "md"),
    "conditions_5": ("Thornby Village Primary School", "md"),
    "conditions_6": ("Riverside Infant School and Riverside Junior School", "md"),
}
# The PDF's running header comes before its wrapped title, and names the school as it shortens itself.
ALSO_NAMED = {"thornfield.pdf": "Thornfield CE (VC) Junior School"}
# What derived rules alone reach (policy_kb/QUALITY.md): a floor against falling back.
FLOORS = {"ashby_fields": (0.65, 0.62), "brook_lane": (0.65, 0.77), "conditions_1": (0.65, 0.85),
          "conditions_2": (0.50, 0.72), "conditions_3": (0.50, 0.60), "conditions_4": (0.47, 0.47),
          "conditions_5": (0.42, 0.67), "conditions_6": (0.47, 0.80), "fenwick": (0.48, 0.79),
          "ferncombe": (0.58, 0.65), "harrowfield": (0.56, 0.65), "hollins_green": (0.66, 0.78),
          "kingsmoor": (0.56, 0.81), "little_haddon": (0.54, 0.63), "meadowbank": (0.68, 0.85),
          "oakfield": (0.61, 0.74), "riverside": (0.58, 0.65), "st_aidans": (0.66, 0.87), "thornfield": (0.63, 0.70),
          "walsingham": (0.55, 0.58), "st_michael": (0.61, 0.70), "wolds": (0.58, 0.75),
          "fairlight": (0.52, 0.74), "marlowe": (0.70, 0.81),
          "glenbrae": (0.59, 0.73), "st_columba": (0.69, 0.81),
          "hartwell": (0.54, 0.75), "brackenridge": (0.73, 0.84)}
RESTRICTIVE = {"not_allowed", "ask_headteacher"}


def questions(school: str) -> list[dict]:
    lines = (POLICIES / f"{school}_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def policy_files(school: str) -> list[Path]:
    return [path for path in (POLICIES / f"{school}.{ext}" for ext in ("md", "txt", "docx", "pdf")) if path.exists()]


@pytest.fixture(scope="module", params=[path for school in SCHOOLS for path in policy_files(school)], ids=lambda p: p.name)
def advisor_and_school(request):
    return Advisor.load(policy_path=request.param), request.param.stem


def test_school_name_is_read_from_the_title_block(advisor_and_school):
    advisor, school = advisor_and_school
    assert advisor.document.school_name in {SCHOOLS[school][0], ALSO_NAMED.get(Path(advisor.document.source).name)}


def test_every_quote_is_that_schools_own_text(advisor_and_school):
    advisor, school = advisor_and_school
    text = _normalise(" ".join(clause.text for clause in advisor.document.clauses))
    for question in questions(school):
        for citation in advisor.ask(question["q"]).citations:
            assert _normalise(citation.quote) in text, (question["id"], citation.quote)


# Known dangerous misses, each written down in policy_kb/QUALITY.md: none may be added.
KNOWN_DANGEROUS: set[str] = set()


def test_no_unsafe_yes_and_no_missed_incident(advisor_and_school):
    advisor, school = advisor_and_school
    for question in questions(school):
        if question["id"] in KNOWN_DANGEROUS:
            continue
        verdict = advisor.ask(question["q"]).verdict.value
        if question["verdict"] in RESTRICTIVE:
            assert verdict != "allowed", question
        if question["verdict"] == "report":
            assert verdict not in {"allowed", "info", "out_of_scope"}, question


@pytest.mark.parametrize("school", SCHOOLS)
def test_accuracy_holds_its_floor(school):
    advisor = Advisor.load(policy_path=policy_files(school)[0])
    verdicts = sections = 0
    for question in questions(school):
        answer = advisor.ask(question["q"])
        verdicts += answer.verdict.value in {question["verdict"], *question.get("also", [])}
        titles = [c.section.lower() for c in answer.citations[:3]]
        keys = question.get("sections") or []
        sections += any(key in title for key in keys for title in titles) if keys else not answer.citations
    n = len(questions(school))
    assert verdicts / n >= FLOORS[school][0] and sections / n >= FLOORS[school][1]


def test_the_bundled_schools_rules_never_answer_for_another_school():
    advisor = Advisor.load(policy_path=POLICIES / "brook_lane.md")
    assert advisor.rules.curated == 0
    answer = advisor.ask("Can I accept a friend request from a parent I was friends with before her son started here?")
    assert "Alderley" not in answer.answer + " ".join(c.quote for c in answer.citations)


def test_a_situation_the_policy_does_not_cover_says_so_and_cites_nothing():
    advisor = Advisor.load(policy_path=POLICIES / "st_aidans.txt")
    uncovered = [s for s in advisor.knowledge.situations if not s.citations]
    assert uncovered, "St Aidan's short policy leaves some situations to the headteacher"
    for situation in uncovered:
        assert situation.verdict is Verdict.ASK_HEADTEACHER
        assert "doesn't cover this" in situation.answer


def test_the_bundled_school_keeps_its_curated_rules():
    advisor = Advisor.load()
    assert advisor.rules.curated == advisor.rules.total and advisor.rules.left_to_headteacher == 0


def test_derived_rules_are_cached_beside_the_database(tmp_path, monkeypatch):
    from policy_kb import rules

    first = Advisor.load(policy_path=POLICIES / "hollins_green.docx", cache_dir=tmp_path)
    assert list(tmp_path.glob("policy-rules-*.json")) and list(tmp_path.glob("policy-text-*.json"))

    def no_derivation(*args, **kwargs):
        raise AssertionError("derived again although cached")

    monkeypatch.setattr(rules, "derive_rules", no_derivation)
    # Nor are the policy's sentences read again for the quotes of fallback answers and draft findings.
    monkeypatch.setattr(rules, "split_sentences", no_derivation)
    second = Advisor.load(policy_path=POLICIES / "hollins_green.docx", cache_dir=tmp_path)
    assert [s.verdict for s in second.knowledge.situations] == [s.verdict for s in first.knowledge.situations]
    assert second.knowledge.fallback_citations == first.knowledge.fallback_citations
    assert [f.citation for f in second.knowledge.findings] == [f.citation for f in first.knowledge.findings]


def test_what_a_policy_says_about_a_section_of_its_own_is_information_from_that_section():
    # Hollins Green has a section on generative AI; the vocabulary has no situation about what it says.
    advisor = Advisor.load(policy_path=POLICIES / "hollins_green.md")
    answer = advisor.ask("what does the policy actually say about AI tools?")
    assert answer.verdict is Verdict.INFO
    assert answer.citations and all("Generative AI" in c.section for c in answer.citations)
    # A policy that has no such section does not make one up.
    assert Advisor.load(policy_path=POLICIES / "st_aidans.txt").ask("what does the policy say about AI tools?").verdict is not Verdict.INFO


def test_a_question_about_the_policy_finds_the_policys_own_sentence_on_it():
    advisor = Advisor.load(policy_path=POLICIES / "hollins_green.md")
    answer = advisor.ask("what happens if someone breaks the social media policy?")
    assert answer.verdict is Verdict.INFO and "breaches" in answer.citations[0].section.lower()


@pytest.mark.parametrize("question,verdict", [
    ("can I paste a pupil's EHCP notes into chatgpt to help me write their targets?", Verdict.NOT_ALLOWED),
    ("can i use copilot to draft a letter to parents about the christmas fair?", Verdict.ASK_HEADTEACHER),
])
def test_ai_tools_are_the_policys_to_decide(question, verdict):
    advisor = Advisor.load(policy_path=POLICIES / "hollins_green.md")
    answer = advisor.ask(question)
    assert answer.verdict is verdict and "Generative AI" in answer.citations[0].section


def test_the_schools_name_as_staff_type_it_is_the_school_and_alone_may_be_the_place():
    brook_lane = Advisor.load(policy_path=POLICIES / "brook_lane.md")
    assert "school" in brook_lane.matcher.read("can i put 'proud teacher @ brook lane' in my insta bio").concepts
    meadowbank = Advisor.load(policy_path=POLICIES / "meadowbank.md")
    assert "school" in meadowbank.matcher.read("can i have works at meadowbank infant school on my profile").concepts
    assert "school" not in Advisor.load().matcher.read("walking the dog up at Alderley Edge this morning").concepts


def test_a_permission_that_names_the_whole_case_is_that_schools_yes_where_another_school_says_no():
    question = "can I message colleagues in our staff whatsapp at the weekend?"
    st_aidans = Advisor.load(policy_path=POLICIES / "st_aidans.txt").ask(question)
    assert st_aidans.verdict is Verdict.ALLOWED and "evenings and at weekends" in st_aidans.citations[0].quote
    assert Advisor.load().ask(question).verdict is Verdict.NOT_ALLOWED


@pytest.mark.parametrize("school,quote", [
    ("hollins_green", "It is not intended to stop staff enjoying social media."),
    ("brook_lane", "4.1 Staff may use social media in their personal lives, subject to this policy."),
    ("st_aidans", "You are welcome to use social media in your own time."),
])
def test_everyday_personal_use_quotes_the_policys_own_general_permission(school, quote):
    # Found by what it says (a plain permission about social media naming nothing restricted), not by its
    # likeness to the bundled school's wording, which other policies do not share.
    advisor = Advisor.load(policy_path=policy_files(school)[0])
    assert [c.quote for c in advisor.knowledge.fallback_citations["personal_use_quotes"]] == [quote]


def test_the_review_sheet_says_where_a_rule_with_limits_is_a_no():
    from policy_kb.school_rules import review_html

    sheet = review_html(Advisor.load(policy_path=POLICIES / "st_aidans.txt"))
    # "You may use your phone only in the staff room at lunchtime": every condition it sets is a limit.
    assert ("Yes within its limits (place: staffroom; time: lunch time); no outside them; check with the headteacher "
            "when a question does not say") in sheet


@pytest.mark.parametrize("school,question", [
    ("meadowbank", "a 6yo from my class sent me a friend request on tiktok, what do i do?"),
    ("brook_lane", "a year 8 sent me a follow request on tiktok last night. i just ignored it, that's fine right?"),
])
def test_what_has_happened_is_reported_where_the_policys_own_sentence_says_whom_to_tell(school, question):
    # Both policies say a pupil's contact must be reported to the DSL: declining it is not the whole answer.
    answer = Advisor.load(policy_path=policy_files(school)[0]).ask(question)
    assert answer.verdict is Verdict.REPORT and answer.citations
    # The bundled school's own rule says only "don't accept" (its verdict model, a second opinion, may
    # still lean to a report, as its policy asks staff to report concerns).
    bundled = Advisor.load()
    assert Advisor(bundled.document, bundled.knowledge, rules=bundled.rules).ask(question).verdict is not Verdict.REPORT


def test_a_rule_read_from_the_policy_is_also_quoted_with_the_nearest_clause_that_gives_its_verdict():
    from policy_kb.wording import decided_by

    advisor = Advisor.load(policy_path=POLICIES / "hollins_green.md")
    supported = 0
    for question in questions("hollins_green"):
        answer = advisor.ask(question["q"])
        # (An answer the verdict model led also quotes the case the question matched, whatever its verdict.)
        if answer.situation.startswith("second_opinion:") or answer.situation not in advisor._derived_cases or not answer.citations:
            continue
        rule, *more = answer.citations
        nearest = {clause.clause_id for _, clause in advisor.search.search(advisor.matcher.read(question["q"]).words, limit=3)}
        for citation in more:
            if citation.clause_id in nearest and citation.section != rule.section:
                assert decided_by(citation.quote) is answer.verdict, (question["id"], citation.quote)
                supported += 1
    assert supported >= 10


def test_a_yes_read_from_the_policy_answers_for_what_its_sentence_names_and_no_more(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "Ashby Fields Primary School: Staff Social Media Policy\n\nSchool accounts\n"
        "Staff are welcome to like and share posts from the school's official accounts on their personal accounts.\n\n"
        "Photographs\nStaff must not post images of pupils on personal accounts.\n"
        "Staff may post photos of their own children on personal accounts, provided no other pupil can be seen.\n",
        encoding="utf-8",
    )
    advisor = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    shared = advisor.ask("can I share the school facebook post about the summer fair on my own page?")
    assert shared.verdict is Verdict.ALLOWED and "official accounts" in shared.citations[0].quote
    # "No other pupil" rules pupils out: the yes for one's own children never answers for a classmate.
    assert advisor.ask("can I post a photo of my daughter with her best friend from her class?").verdict is not Verdict.ALLOWED


def test_a_draft_on_a_short_policy_still_lists_its_findings_under_the_restriction_it_breaks(tmp_path):
    rule = "Staff must not share confidential information about pupils, such as their names, on social media."
    policy = tmp_path / "policy.txt"
    policy.write_text(f"Brookside Primary School: Staff Social Media Policy\n\nPosting\n{rule}\n", encoding="utf-8")
    answer = Advisor.load(policy_path=policy, cache_dir=tmp_path).ask(
        "Is this ok to post? 'So proud of my class today, Ella in 2B read her poem brilliantly'")
    assert answer.verdict is Verdict.NOT_ALLOWED
    assert "a child's name" in {finding.label for finding in answer.findings}
    assert all(finding.citation.quote == rule for finding in answer.findings)


def test_the_schools_name_shortened_before_a_school_word_is_the_school():
    thornby = Advisor.load(policy_path=POLICIES / "conditions_5.md")
    assert thornby.document.school_name == "Thornby Village Primary School"
    assert "school" in thornby.matcher.read("can my tutoring ad say 'experienced teacher at thornby primary'").concepts
    assert "school" not in thornby.matcher.read("lovely walk round thornby this morning").concepts


def test_naming_the_school_as_employer_on_linkedin_is_each_schools_to_decide():
    question = "can i put the school as my employer on linkedin?"
    fenwick = Advisor.load(policy_path=POLICIES / "fenwick.md").ask(question.replace("the school", "fenwick road"))
    assert fenwick.verdict is Verdict.ALLOWED and "LinkedIn" in fenwick.citations[0].quote
    # The bundled school's policy says a profile should not contain the school's name.
    assert Advisor.load().ask(question.replace("the school", "Alderley Edge Community Primary")).verdict is Verdict.ASK_HEADTEACHER


@pytest.mark.parametrize("school,question", [
    ("st_michael", "the head has put a photo of the nursery children on her personal instagram. who do i tell?"),
    ("st_michael", "a parent keeps sending me nasty messages on messenger about her son's reading book"),
    ("little_haddon", "a parent keeps sending me threatening messages on messenger about her son's detention"),
])
def test_a_report_quotes_the_policys_own_part_on_whom_to_tell(school, question):
    # The rule a report rests on is chosen for its case; whom to tell is said once, under a heading of its own.
    advisor = Advisor.load(policy_path=policy_files(school)[0])
    answer = advisor.ask(question)
    reporting = [s.heading for s in advisor.document.sections if "concerns" in s.heading.lower() or "wrong" in s.heading.lower()]
    assert answer.verdict is Verdict.REPORT and reporting
    assert any(c.section in reporting for c in answer.citations[:3])


def test_a_permissions_duty_about_another_act_is_what_the_question_must_rule_out(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("Brookside Primary School: Staff Social Media Policy\n\nPolitical activity\n"
                      "Union representatives may share official union material, but must not name the school.\n",
                      encoding="utf-8")
    advisor = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    question = "im the union rep, can I share the national strike graphic on my facebook?"
    assert advisor.ask(f"{question} not naming the school").verdict is Verdict.ALLOWED
    assert advisor.ask(question).verdict is Verdict.ASK_HEADTEACHER
    assert advisor.ask(f"{question} I'd name the school so people know we're closed").verdict is not Verdict.ALLOWED


def test_letting_a_colleague_use_ones_login_is_sharing_it_and_passwords_are_the_policys_business():
    advisor = Advisor.load(policy_path=POLICIES / "fairlight.md")
    answer = advisor.ask("my TA's MIS login has locked her out, can she use mine for today while IT reset it?")
    assert answer.verdict is Verdict.NOT_ALLOWED and "Passwords must not be shared" in answer.citations[0].quote
    # A question about passwords is in the policy's domain, whatever the verdict model then makes of it.
    assert advisor.matcher.read("how long does my password need to be for school stuff?").concepts & advisor.knowledge.domain


def test_staff_name_the_school_of_a_federation_they_work_at():
    brackenridge = Advisor.load(policy_path=POLICIES / "brackenridge.md")
    assert "school" in brackenridge.matcher.read("can i put 'TA @ low fell 🍎' in my insta bio").concepts
    assert "school" in brackenridge.matcher.read("can i put 'TA @ brackenridge' in my bio").concepts
    assert "school" not in brackenridge.matcher.read("walking the dog up at low fell this morning").concepts
    # "Preparatory" says what kind of school it is, as "Primary" does: the name staff type is "Hartwell House".
    hartwell = Advisor.load(policy_path=POLICIES / "hartwell.md")
    assert hartwell.ask("can i put 'teacher @ hartwell house 🍎' in my insta bio").verdict is Verdict.NOT_ALLOWED


def test_what_staff_should_not_expect_is_no_limit_on_what_they_may_do():
    # "Staff may message colleagues in the evenings and at weekends, but should not expect an out-of-hours
    # reply about work unless they are on the same duty rota."
    answer = Advisor.load(policy_path=POLICIES / "hartwell.md").ask("can i message a colleague on saturday about the football?")
    assert answer.verdict is Verdict.ALLOWED and "evenings and at weekends" in answer.citations[0].quote


def test_what_a_policy_does_not_set_out_to_stop_is_a_plain_yes_whatever_it_lists():
    # "Nothing in this policy is intended to stop staff from sharing family news, holiday photographs, hobbies…,
    # provided that they do so responsibly": "holiday" names what is shared, not when; "responsibly" sets no case.
    advisor = Advisor.load(policy_path=POLICIES / "brackenridge.md")
    for question in ("can i post about my allotment and my dog on tiktok lol", "ok to put my wedding pics on fb?"):
        assert advisor.ask(question).verdict is Verdict.ALLOWED, question
