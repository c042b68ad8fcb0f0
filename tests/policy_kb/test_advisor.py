import json
from pathlib import Path

import pytest

from policy_kb.advisor import Advisor
from policy_kb.answer import Verdict

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


def score(advisor: Advisor, questions_file: Path) -> tuple[float, float, list[str], list[str]]:
    """The same rules as the project's scorer: verdict (or an accepted alternative) and a cited section
    among the first three that contains one of the expected keys; out-of-scope answers cite nothing. Also
    the unsafe yeses: an "allowed" where the policy says no or check first."""
    questions = [json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = sections = 0
    misses, unsafe = [], []
    for question in questions:
        answer = advisor.ask(question["q"])
        titles = [c.section.lower() for c in answer.citations[:3]]
        accepted = [question["verdict"], *question.get("also", [])]
        if answer.verdict is Verdict.ALLOWED and "allowed" not in accepted:
            unsafe.append(f"{question['id']}: {question['q']}")
        verdict_ok = answer.verdict.value in accepted
        keys = question.get("sections") or []
        section_ok = any(k in t for k in keys for t in titles) if keys else not titles
        verdicts += verdict_ok
        sections += section_ok
        if not (verdict_ok and section_ok):
            misses.append(f"{question['id']}: got {answer.verdict.value} {titles} :: {question['q']}")
    return verdicts / len(questions), sections / len(questions), misses, unsafe


# Each set's floor (verdict accuracy, section hit@3). Sets 10 to 20 were written blind and are kept at what
# the advisor, with its verdict model, scores on them now (their first-sight figures are in
# policy_kb/QUALITY.md).
FLOORS = {
    "dev_questions.jsonl": (0.95, 0.95),
    **{f"advisor_questions{suffix}.jsonl": (0.95, 0.95) for suffix in ("", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9")},
    "advisor_questions_10.jsonl": (0.96, 0.92),
    "advisor_questions_11.jsonl": (0.96, 0.98),
    "advisor_questions_12.jsonl": (0.83, 0.90),
    "advisor_questions_13.jsonl": (0.95, 0.93),
    "advisor_questions_14.jsonl": (0.91, 0.90),
    "advisor_questions_15.jsonl": (0.90, 0.93),
    "advisor_questions_16.jsonl": (0.88, 0.89),
    "advisor_questions_17.jsonl": (0.92, 0.93),
    "advisor_questions_18.jsonl": (0.91, 0.90),
    "advisor_questions_19.jsonl": (0.92, 0.87),
    "advisor_questions_20.jsonl": (0.92, 0.88),
    "advisor_questions_21.jsonl": (0.94, 0.91),
    "advisor_questions_22.jsonl": (0.91, 0.86),
    "advisor_questions_23.jsonl": (0.92, 0.89),
    "advisor_questions_24.jsonl": (0.88, 0.92),
    "advisor_questions_25.jsonl": (0.90, 0.86),
    "advisor_questions_26.jsonl": (0.92, 0.90),
    "advisor_questions_27.jsonl": (0.90, 0.87),
    "advisor_questions_28.jsonl": (0.93, 0.85),
    "advisor_questions_29.jsonl": (0.85, 0.82),
    "advisor_questions_30.jsonl": (0.90, 0.92),
    "advisor_questions_31.jsonl": (0.87, 0.87),
    "advisor_questions_32.jsonl": (0.84, 0.86),
    "advisor_questions_33.jsonl": (0.86, 0.85),
    "advisor_questions_34.jsonl": (0.92, 0.87),
    "advisor_questions_35.jsonl": (0.84, 0.84),
    "advisor_questions_36.jsonl": (0.90, 0.86),
    "advisor_questions_37.jsonl": (0.80, 0.84),
    "advisor_questions_38.jsonl": (0.84, 0.84),
    "advisor_questions_39.jsonl": (0.95, 0.89),
}


def test_every_question_set_has_a_floor():
    # A set added to the fixtures without one would guard nothing.
    assert {path.name for path in FIXTURES.glob("*questions*.jsonl")} == set(FLOORS)


@pytest.mark.parametrize("questions_file", sorted(FLOORS))
def test_question_sets_do_not_regress(advisor, questions_file):
    verdict_acc, section_hit3, misses, _unsafe = score(advisor, FIXTURES / questions_file)
    verdict_floor, section_floor = FLOORS[questions_file]
    assert verdict_acc >= verdict_floor and section_hit3 >= section_floor, "\n".join(misses)


@pytest.mark.parametrize("questions_file", sorted(FLOORS))
def test_no_set_gets_a_yes_the_policy_does_not_give(advisor, questions_file):
    _verdict, _section, _misses, unsafe = score(advisor, FIXTURES / questions_file)
    assert unsafe == [], "\n".join(unsafe)


def test_every_citation_is_real_text_of_the_policy(advisor):
    clause_text = {c.clause_id: c.text for c in advisor.document.clauses}
    sections = {s.heading for s in advisor.document.sections}
    for situation in advisor.knowledge.situations:
        for citation in situation.citations:
            assert citation.quote in clause_text[citation.clause_id]
            assert citation.section in sections
    assert advisor.knowledge.problems == ()


def test_answer_shape(advisor):
    answer = advisor.ask("Can I post a picture of the children in my class on my personal Facebook page?").to_dict()
    assert answer["verdict"] == "not_allowed"
    assert answer["answer"]
    assert answer["citations"][0]["section"] == "Prohibited use"
    assert set(answer["citations"][0]) == {"section", "quote", "clause_id"}
    assert isinstance(answer["next_steps"], list)


def test_out_of_scope_cites_nothing(advisor):
    answer = advisor.ask("What's on the school lunch menu today?")
    assert answer.verdict is Verdict.OUT_OF_SCOPE and answer.citations == ()


def test_unsure_answers_say_so_and_point_to_the_headteacher(advisor):
    answer = advisor.ask("Can I post a poll on Threads asking parents which biscuits are best?")
    # The verdict model retrained on sets Q and R leans to a no here (policy_kb/QUALITY.md): never a yes.
    assert answer.verdict in {Verdict.ASK_HEADTEACHER, Verdict.NOT_ALLOWED}
    assert not answer.confident
    assert any("refrain from posting" in c.quote for c in answer.citations)


def test_everyday_personal_use_is_allowed(advisor):
    answer = advisor.ask("Can I post a poll on Threads asking which biscuits are best?")
    assert answer.verdict is Verdict.ALLOWED and answer.confident
    assert answer.citations and all("personal life" in c.section for c in answer.citations)


def test_a_report_of_what_someone_else_did(advisor):
    answer = advisor.ask("I've noticed one of the TAs posting pics of pupils on her public instagram")
    assert answer.verdict is Verdict.REPORT
    assert answer.citations[0].section == "Prohibited use"
    assert any("contact the headteacher" in c.quote for c in answer.citations)


def test_what_the_rules_are_is_information(advisor):
    answer = advisor.ask("What are the rules on keeping school social media logins when you leave?")
    assert answer.verdict is Verdict.INFO
    assert answer.citations[0].section == "Social media usage for work purposes"


def test_the_school_name_inside_a_handle(advisor):
    answer = advisor.ask("My twitter handle is @MissJ_AlderleyEdgePrimary, that's fine isn't it?")
    assert answer.verdict is Verdict.NOT_ALLOWED


def test_negation_is_understood(advisor):
    answer = advisor.ask("Can I post a photo of my weekend walk on Instagram? There are no pupils in it.")
    assert answer.verdict is Verdict.ALLOWED


def test_typos_and_text_speak(advisor):
    assert advisor.ask("cn i post piccs of the childrn on facebok").verdict is Verdict.NOT_ALLOWED
    assert advisor.ask("is it ok 2 b friends wiv a pupils mum on fb").verdict is Verdict.NOT_ALLOWED


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \n\t ",
        "🙂" * 500,
        "Могу ли я опубликовать фото? 我可以发照片吗？",
        "Can I post this?\nLine two\n\nLine three",
        "word " * 2000,
        "Check this before I post: '" + "Lovely day! " * 900 + "'",
        "\x00\x01 <script>alert(1)</script> <!channel>",
    ],
)
def test_odd_input_never_crashes(advisor, question):
    answer = advisor.ask(question)
    assert answer.verdict in Verdict
    assert answer.answer


def test_a_negation_stays_in_its_clause(advisor):
    answer = advisor.ask("Draft for my FB: 'Some people in our year group team need to start pulling their weight, naming no names'. Fine to post?")
    assert answer.verdict is Verdict.NOT_ALLOWED


def test_a_named_child_in_a_draft_is_personal_information(advisor):
    answer = advisor.ask("Is this ok for my Insta story: 'Proudest moment of the week - little Alfie finally read a whole page!'")
    assert answer.verdict is Verdict.NOT_ALLOWED


def test_a_post_pasted_under_a_line_asking_about_it_is_a_draft(advisor):
    plain = advisor.ask("thoughts?\nLemon drizzle attempt no.3 and it finally didn't sink 🍋🙌 #bakingwin")
    assert plain.verdict is Verdict.ALLOWED and plain.confident
    named = advisor.ask("ok for fb?\nSo proud of Amelia and Josh in 4B today, brilliant sports day")
    assert named.verdict is Verdict.NOT_ALLOWED and "a child's name" in [finding.label for finding in named.findings]


def test_a_pupils_brother_or_sister_is_not_the_askers_relative(advisor):
    question = "older boy left in july but his little sister is still in year 2. his mum has added me on insta, ok?"
    assert {"pupil", "parent"} <= advisor.matcher.read(question).concepts
    assert "relative" not in advisor.matcher.read(question).concepts
    assert advisor.ask(question).verdict is Verdict.NOT_ALLOWED


def test_a_bad_pattern_in_the_knowledge_file_is_one_clear_line(tmp_path):
    from policy_kb.errors import PolicyLoadError

    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text('[concepts]\nbroken = { patterns = ["(unclosed"] }\n', encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="not a valid regular expression"):
        Advisor.load(knowledge_path=knowledge)


@pytest.mark.parametrize("content", ['situations = "x"\n', 'concepts = 3\n', '[[situations]]\nid = "a"\nverdict = "allowed"\nmatch = 5\n'])
def test_a_knowledge_file_of_the_wrong_shape_is_one_clear_line(tmp_path, content):
    from policy_kb.errors import PolicyLoadError

    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="expected layout") as error:
        Advisor.load(knowledge_path=knowledge)
    assert "\n" not in str(error.value)
