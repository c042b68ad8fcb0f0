import io
import sys

from bot.cli import main


def test_chat_runs_the_conversation_core_until_quit(capsys, monkeypatch):
    typed = "\nCan I be friends with other members of staff on Facebook?\n1\nhelp\nquit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "✅" in out and "Prohibited use" in out  # the answer, with its quoted clause
    assert "[1] 👍 Helpful" in out
    assert "Thanks, glad it helped." in out  # typing 1 clicked the first button
    assert "How I can help" in out
    assert out.rstrip().endswith("Bye! Ask again any time.")


def test_chat_with_a_missing_policy_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_PATH", str(tmp_path / "gone.txt"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("quit\n"))
    assert main(["chat"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"policybot: policy file not found: {tmp_path / 'gone.txt'}"


def test_a_report_in_the_terminal_asks_each_field_and_shows_the_code(capsys, monkeypatch):
    # "report", then: what happened, kind (1), where, link, who, when, about the head (n), identity (1).
    typed = "report\nSomeone keeps messaging me abuse on Instagram.\n1\nInstagram\n\nA parent\nYesterday\nn\n1\nquit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "Make a report" in out and "[1] Harassment or bullying of me" in out
    assert "Case code: " in out and "Secret: " in out and "Support for those affected or involved" in out


def test_alone_in_the_terminal_you_ask_and_answer_as_the_headteacher(capsys, monkeypatch):
    # No roles set: the terminal's user is the headteacher for the session, and their own question's card
    # comes back to them. Button 1 is "That's fine"; then the optional note.
    typed = "ask the head: may I share the summer fair poster?\n1\nGo ahead, thanks for checking\ndashboard\nquit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "you are also the headteacher" in out
    assert "Their question:\nmay I share the summer fair poster?" in out
    first_button = out.split("Their question:")[1].split("[1] ")[1].split("  [2]")[0]
    assert f"says: {first_button}" in out and "Go ahead, thanks for checking" in out
    assert f"may I share the summer fair poster? — {first_button}" in out  # the dashboard's own requests


def test_the_lent_role_is_taken_back_when_the_chat_ends(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("quit\n"))
    assert main(["chat"]) == 0
    capsys.readouterr()
    assert main(["roles", "list"]) == 0
    assert capsys.readouterr().out.startswith("No role holders yet.")
