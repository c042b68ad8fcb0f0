import io
import json
import re
import subprocess
import sys

from bot.cli import main
from bot.config import get_settings


def run(argv, capsys, monkeypatch=None, stdin: str | None = None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_a_readable_answer(capsys):
    code, out, _ = run(["ask", "Can I give a former colleague a reference on LinkedIn?"], capsys)
    assert code == 0
    assert "No, the policy doesn't allow this" in out
    assert "Compliance with related policies and procedures" in out
    assert "Employees should never provide references" in out


def test_ask_json_prints_one_object(capsys):
    code, out, _ = run(["ask", "--json", "Who does this policy apply to?"], capsys)
    answer = json.loads(out)
    assert code == 0 and answer["verdict"] == "info"
    assert answer["citations"][0]["section"] == "Scope"


def test_ask_json_stdin_answers_every_line_in_order(capsys, monkeypatch):
    questions = ["Who does this policy apply to?", "", "What's on the school lunch menu today?", "🙂🙂"]
    code, out, _ = run(["ask", "--json", "-"], capsys, monkeypatch, "\n".join(questions) + "\n")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(questions)
    assert [json.loads(line)["verdict"] for line in lines][:3] == ["info", "out_of_scope", "out_of_scope"]


def test_empty_question_gets_a_friendly_prompt(capsys):
    code, out, _ = run(["ask", "   "], capsys)
    assert code == 0 and "Ask me about something you'd like to post" in out


def test_missing_policy_is_one_clear_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_PATH", str(tmp_path / "nowhere.txt"))
    code, out, err = run(["ask", "Can I post?"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == f"policybot: policy file not found: {tmp_path / 'nowhere.txt'}"


def test_empty_policy_is_one_clear_line_and_exit_2(capsys, monkeypatch, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    monkeypatch.setenv("POLICY_PATH", str(empty))
    code, _, err = run(["ask", "--json", "-"], capsys, monkeypatch, "Can I post?\n")
    assert code == 2 and err.count("\n") == 1 and str(empty) in err


def test_kb_check_lists_quotes_the_policy_lacks(capsys, monkeypatch, tmp_path):
    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text(
        '[concepts]\nreference = ["reference"]\n\n[[situations]]\nid = "refs"\nverdict = "not_allowed"\n'
        'match = ["reference"]\nanswer = "No."\nquotes = [\n'
        '  "Employees should never provide references for other individuals on social or professional networking sites.",\n'
        '  "Employees may give glowing references whenever they like.",\n]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KNOWLEDGE_PATH", str(knowledge))
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 1
    assert "NOT FOUND [refs]: Employees may give glowing references whenever they like." in out
    code, out, _ = run(["ask", "--json", "Can I give a reference?"], capsys)
    quotes = [c["quote"] for c in json.loads(out)["citations"]]
    assert quotes == ["Employees should never provide references for other individuals on social or professional networking sites."]


def test_kb_check_passes_on_the_bundled_knowledge(capsys):
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 0 and "were found" in out


def test_console_script_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--json", "Does the policy cover YouTube?"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "info"


POLICIES = __import__("pathlib").Path(__file__).parent.parent / "fixtures" / "policies"


def test_ask_says_what_the_loaded_policy_decides(capsys, monkeypatch):
    monkeypatch.setenv("POLICY_PATH", str(POLICIES / "st_aidans.txt"))
    code, out, err = run(["ask", "--json", "Can I post pics of my class on my insta?"], capsys)
    assert code == 0 and json.loads(out)["verdict"] == "not_allowed"
    assert "St Aidan's Church of England Primary School (st_aidans.txt):" in err
    assert "left to the headteacher. Review them: policybot kb review" in err


def test_kb_init_writes_rules_the_school_can_edit_and_use(capsys, monkeypatch, tmp_path):
    import tomllib

    policy = POLICIES / "brook_lane.docx"
    code, out, _ = run(["kb", "init", str(policy), "--output", "rules.toml"], capsys)
    assert code == 0 and "Wrote the rules for Brook Lane Academy to rules.toml" in out
    rules = tomllib.loads((tmp_path / "rules.toml").read_text(encoding="utf-8"))
    by_situation = {rule["situation"]: rule for rule in rules["rules"]}
    assert by_situation["connect_with_pupils"]["verdict"] == "not_allowed"
    assert by_situation["connect_with_pupils"]["quote"].startswith("5.1 Staff must not")
    assert {"example", "section", "source", "confidence"} <= set(by_situation["connect_with_pupils"])
    assert rules["unused"], "clauses no situation uses are listed for the school"
    # Written once: a second init does not overwrite the school's edits.
    code, _, err = run(["kb", "init", str(policy), "--output", "rules.toml"], capsys)
    assert code == 2 and "already exists" in err

    # The headteacher corrects a rule; the bot then answers with it.
    edited = (tmp_path / "rules.toml").read_text(encoding="utf-8").replace(
        'situation = "connect_with_pupils"', 'situation = "connect_with_pupils"\nanswer = "No: the Principal says never."', 1
    )
    (tmp_path / "rules.toml").write_text(edited, encoding="utf-8")
    monkeypatch.setenv("POLICY_PATH", str(policy))
    monkeypatch.setenv("RULES_PATH", str(tmp_path / "rules.toml"))
    get_settings.cache_clear()
    code, out, _ = run(["ask", "--json", "a girl in my class sent me a follow request on tiktok, can i accept?"], capsys)
    assert json.loads(out)["answer"] == "No: the Principal says never."
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 0


def test_kb_check_lists_a_rules_file_quote_the_policy_lacks(capsys, monkeypatch, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nsituation = "connect_with_pupils"\nverdict = "allowed"\nquote = "Staff may befriend pupils."\n', encoding="utf-8")
    monkeypatch.setenv("POLICY_PATH", str(POLICIES / "brook_lane.md"))
    monkeypatch.setenv("RULES_PATH", str(rules))
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 1 and "Staff may befriend pupils." in out
    code, out, _ = run(["ask", "--json", "can i accept a friend request from a pupil?"], capsys)
    assert json.loads(out)["verdict"] == "not_allowed", "a rule whose quote is not in the policy is never used"


def test_kb_review_writes_a_printable_sheet(capsys, tmp_path):
    code, out, _ = run(["kb", "review", "--policy", str(POLICIES / "hollins_green.pdf"), "--output", "review.html"], capsys)
    sheet = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert code == 0 and "Wrote the review sheet to review.html" in out
    assert "Hollins Green Primary School" in sheet and "page-break-after: always" in sheet
    assert "Reporting concerns" in sheet and "&#9744; Correct" in sheet
    assert "Not covered by the policy" in sheet or "0 are left to the headteacher" in sheet


def test_a_rule_with_limits_keeps_them_in_the_schools_rules_file(capsys, monkeypatch, tmp_path):
    import tomllib

    policy = POLICIES / "st_aidans.txt"
    code, _, _ = run(["kb", "init", str(policy), "--output", "rules.toml"], capsys)
    rules = tomllib.loads((tmp_path / "rules.toml").read_text(encoding="utf-8"))
    phones = {rule["situation"]: rule for rule in rules["rules"]}["own_device_on_breaks"]
    assert code == 0 and phones["limits"] == {"place": ["staffroom"], "time": ["lunch_time"]}

    monkeypatch.setenv("POLICY_PATH", str(policy))
    monkeypatch.setenv("RULES_PATH", str(tmp_path / "rules.toml"))
    get_settings.cache_clear()
    code, out, _ = run(["ask", "--json", "-"], capsys, monkeypatch,
                       "can I go on facebook on my phone in the staff room at lunchtime?\n"
                       "can I go on facebook on my phone in the staff room at morning break?\n")
    # "You may use your phone only in the staff room at lunchtime" is written as an allowed rule with its
    # limits: within them a yes, outside them a no.
    assert phones["verdict"] == "allowed"
    assert [json.loads(line)["verdict"] for line in out.splitlines()] == ["allowed", "not_allowed"]

    # A limit the advisor does not know is one clear line from kb check, and the rule is not used.
    edited = (tmp_path / "rules.toml").read_text(encoding="utf-8").replace(
        'limits = { place = ["staffroom"], time = ["lunch_time"] }', 'limits = { place = ["the moon"] }', 1)
    (tmp_path / "rules.toml").write_text(edited, encoding="utf-8")
    get_settings.cache_clear()
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 1 and "limit 'place' takes" in out and "the moon" in out


def test_a_cases_exceptions_are_in_the_schools_rules_file_and_review_sheet(capsys, monkeypatch, tmp_path):
    import tomllib

    policy = POLICIES / "hollins_green.md"
    code, _, _ = run(["kb", "init", str(policy), "--output", "rules.toml"], capsys)
    text = (tmp_path / "rules.toml").read_text(encoding="utf-8")
    rules = {rule["situation"]: rule for rule in tomllib.loads(text)["rules"]}
    friends = rules["connect_with_family_or_friends_of_pupils"]
    assert code == 0 and any("existed before the child joined" in each["quote"] and each["limits"]["relationship"] == ["prior_friend"]
                             for each in friends["exceptions"])

    monkeypatch.setenv("POLICY_PATH", str(policy))
    monkeypatch.setenv("RULES_PATH", str(tmp_path / "rules.toml"))
    get_settings.cache_clear()
    question = ("I'm best mates with a dad whose kid is in Y4, we were friends years before his son started here and "
                "the head knows all about it. Is it ok to stay friends on facebook?\n")
    code, out, _ = run(["ask", "--json", "-"], capsys, monkeypatch, question)
    assert json.loads(out)["verdict"] == "allowed", "the school's file keeps the exception the derived rules had"
    code, _, _ = run(["kb", "check"], capsys)
    assert code == 0

    # The school deletes the exception wherever it is listed: no yes from it any more.
    without = re.sub(r'\[\[rules\.exceptions\]\]\nquote = "[^"\n]*existed before the child joined[^\n]*\n[^\n]*\n[^\n]*\n\n', "", text)
    assert without != text
    (tmp_path / "rules.toml").write_text(without, encoding="utf-8")
    get_settings.cache_clear()
    code, out, _ = run(["ask", "--json", "-"], capsys, monkeypatch, question)
    assert json.loads(out)["verdict"] != "allowed"

    code, _, _ = run(["kb", "review", "--policy", str(policy), "--output", "review.html"], capsys)
    sheet = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert "Yes where agreement: head informed; relationship: prior friend" in sheet


def test_kb_check_lists_an_exception_the_policy_lacks_and_one_written_wrongly(capsys, monkeypatch, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nsituation = "connect_with_pupils"\nverdict = "not_allowed"\n'
        'quote = "5.1 Staff must not send, accept or respond to friend, follow or connection requests from pupils"\n'
        '[[rules.exceptions]]\nquote = "Staff may befriend pupils."\nlimits = { age = ["adult_now"] }\n\n'
        '[[rules]]\nsituation = "connect_with_parents"\nverdict = "not_allowed"\n'
        'quote = "5.1 Staff must not send, accept or respond to friend, follow or connection requests from pupils"\n'
        'exceptions = "always"\n', encoding="utf-8")
    monkeypatch.setenv("POLICY_PATH", str(POLICIES / "brook_lane.md"))
    monkeypatch.setenv("RULES_PATH", str(rules))
    get_settings.cache_clear()
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 1 and "Staff may befriend pupils." in out and "exceptions must be [[rules.exceptions]] tables" in out


def test_an_age_line_is_kept_in_the_schools_rules_file_and_read_back(capsys, monkeypatch, tmp_path):
    import tomllib

    policy = POLICIES / "conditions_3.md"
    code, _, _ = run(["kb", "init", str(policy), "--output", "rules.toml"], capsys)
    text = (tmp_path / "rules.toml").read_text(encoding="utf-8")
    rules = {rule["situation"]: rule for rule in tomllib.loads(text)["rules"]}
    assert code == 0 and rules["adult_former_pupils"]["limits"] == {"min_age": ["21"]}

    monkeypatch.setenv("POLICY_PATH", str(policy))
    monkeypatch.setenv("RULES_PATH", str(tmp_path / "rules.toml"))
    get_settings.cache_clear()
    code, out, _ = run(["ask", "--json", "-"], capsys, monkeypatch,
                       "ex pupil is 22 now, can i accept his request on insta?\nex pupil is 19 now, can i accept his insta request?\n")
    assert [json.loads(line)["verdict"] for line in out.splitlines()] == ["allowed", "not_allowed"]

    code, _, _ = run(["kb", "review", "--policy", str(policy), "--output", "review.html"], capsys)
    assert "aged 21 or over" in (tmp_path / "review.html").read_text(encoding="utf-8")

    (tmp_path / "rules.toml").write_text(text.replace('min_age = ["21"]', 'min_age = ["twenty-one"]', 1), encoding="utf-8")
    get_settings.cache_clear()
    code, out, _ = run(["kb", "check"], capsys)
    assert code == 1 and "limit 'min_age' takes one whole number" in out
