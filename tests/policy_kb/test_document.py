from pathlib import Path

import pytest

from policy_kb.advisor import BUNDLED_POLICY, Advisor
from policy_kb.answer import Verdict
from policy_kb.document import load_document
from policy_kb.errors import PolicyLoadError

SEED_HEADINGS = [
    "Scope",
    "Policy statement",
    "What employees can expect from the Alderley Edge Community Primary School",
    "What Alderley Edge Community Primary School expects of employees",
    "Definition of social media",
    "Social media accounts",
    "Context of use",
    "Compliance with related policies and procedures",
    "Prohibited use",
    "Social media usage for work purposes",
    "Guidelines for responsible use of social media in their personal life",
    "Social media usage during working hours",
    "Monitoring use of internet",
    "Breach of this policy",
    "Support for those affected or involved",
    "Useful links",
    "Equality",
    "Monitoring and review",
]


def test_seed_is_read_into_its_sections_as_written():
    document = load_document(BUNDLED_POLICY)
    assert document.title == "SOCIAL MEDIA POLICY – SCHOOL EMPLOYEES"
    assert document.school_name == "Alderley Edge Community Primary School"
    assert [s.heading for s in document.sections] == SEED_HEADINGS


def test_word_artefacts_are_removed_and_bullets_become_clauses():
    document = load_document(BUNDLED_POLICY)
    texts = [c.text for c in document.clauses]
    assert not any("[bookmark" in t for t in texts)
    prohibited = document.section("prohibited-use")
    bullets = [c for c in prohibited.clauses if c.kind == "bullet"]
    assert bullets[0].text.startswith("not use social media to bring the school into disrepute")
    assert not any(c.text.startswith("·") for c in document.clauses)
    links = document.section("useful-links").clauses
    assert links[0].text == "14. Staff Code of Conduct" and len(links) == 13


def test_contact_lines_stay_inside_their_section():
    support = load_document(BUNDLED_POLICY).section("support-for-those-affected-or-involved")
    assert any(c.text.startswith("Email - team12@") for c in support.clauses)
    assert any(c.text.startswith("Education Support") for c in support.clauses)


def test_clause_ids_are_stable_and_unique():
    first = [c.clause_id for c in load_document(BUNDLED_POLICY).clauses]
    second = [c.clause_id for c in load_document(BUNDLED_POLICY).clauses]
    assert first == second
    assert len(set(first)) == len(first)
    assert "prohibited-use/12" in first
    # The school's name is not part of an id, so another school's copy gets the same ids.
    assert "what-employees-can-expect-from-the-school/2" in first


def another_school_policy(tmp_path: Path) -> Path:
    text = BUNDLED_POLICY.read_text(encoding="utf-8").replace("Alderley Edge Community Primary School", "Oakfield Primary School")
    path = tmp_path / "oakfield.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_another_school_needs_no_code_change(tmp_path):
    advisor = Advisor.load(policy_path=another_school_policy(tmp_path))
    assert advisor.document.school_name == "Oakfield Primary School"
    answer = advisor.ask("Can I keep the login for the school Facebook page after I leave?")
    assert answer.verdict.value == "not_allowed"
    assert "Oakfield Primary School" in answer.citations[0].quote
    assert advisor.knowledge.problems == () or all("AECPS" in p.quote for p in advisor.knowledge.problems)


def test_school_name_from_settings_wins(tmp_path):
    advisor = Advisor.load(policy_path=another_school_policy(tmp_path), school_name="Oakfield Primary School")
    assert advisor.document.school_name == "Oakfield Primary School"


def test_markdown_policy(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text(
        "# Staff social media policy\n\nThis policy applies to all employees of Brook Academy\n\n"
        "## Prohibited use\n\nEmployees must:\n\n- not post photos of pupils on personal accounts;\n"
        "- not use social media to impersonate colleagues.\n\n## Support\n\nAsk the **headteacher** for help.\n",
        encoding="utf-8",
    )
    document = load_document(path)
    assert document.school_name == "Brook Academy"
    assert [s.heading for s in document.sections] == ["Staff social media policy", "Prohibited use", "Support"]
    prohibited = document.section("prohibited-use")
    assert [c.kind for c in prohibited.clauses] == ["paragraph", "bullet", "bullet"]
    assert document.section("support").clauses[0].text == "Ask the headteacher for help."


def test_word_policy(tmp_path):
    docx = pytest.importorskip("docx")
    word = docx.Document()
    word.add_heading("Social media policy", level=0)
    word.add_paragraph("This policy applies to all employees of Hill Top School")
    word.add_heading("Prohibited use", level=1)
    word.add_paragraph("not use social media to impersonate colleagues.", style="List Bullet")
    word.add_paragraph("Employees should never provide references for other individuals on social or professional networking sites.")
    path = tmp_path / "policy.docx"
    word.save(path)
    document = load_document(path)
    assert document.school_name == "Hill Top School"
    prohibited = document.section("prohibited-use")
    assert [c.kind for c in prohibited.clauses] == ["bullet", "paragraph"]
    advisor = Advisor.load(policy_path=path)
    answer = advisor.ask("Can I write a LinkedIn reference for a colleague?")
    assert answer.verdict.value == "not_allowed"
    assert answer.citations[0].section == "Prohibited use"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.txt", "not found"),
        (lambda p: (p / "empty.txt").write_text("  \n\n") and p / "empty.txt", "empty"),
        (lambda p: (p / "binary.txt").write_bytes(b"\xff\xfe\x00bad") and p / "binary.txt", "not UTF-8"),
        (lambda p: p, "folder"),
        (lambda p: (p / "broken.docx").write_bytes(b"not a zip") and p / "broken.docx", "cannot be read"),
    ],
)
def test_unusable_policy_files_give_one_clear_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(PolicyLoadError) as error:
        load_document(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_a_quote_after_a_character_that_lower_cases_to_two_is_cut_exactly(tmp_path):
    from policy_kb.knowledge import QuoteIndex

    path = tmp_path / "policy.md"
    path.write_text("# Rules\n\nOn the İstanbul trip staff must not post photos of pupils.\n", encoding="utf-8")
    citation = QuoteIndex(load_document(path)).cite("staff must not post photos")
    assert citation.quote == "staff must not post photos"


def test_word_tables_and_numbered_headings_are_read(tmp_path):
    import docx

    word = docx.Document()
    word.add_paragraph("Kestrel Learning Partnership", style="Title")
    word.add_paragraph("Academy: Brook Lane Academy")
    word.add_paragraph("5. Contact with parents")
    word.add_paragraph("5.1 Staff must not accept friend requests from parents unless the friendship is declared.")
    table = word.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Concern", "Contact"
    table.cell(1, 0).text, table.cell(1, 1).text = "A pupil at risk", "The DSL, the same day"
    word.sections[0].header.paragraphs[0].text = "Page furniture, not policy"
    path = tmp_path / "policy.docx"
    word.save(path)
    document = load_document(path)
    assert document.school_name == "Brook Lane Academy"
    section = document.section("5-contact-with-parents")
    assert section is not None and section.heading == "5. Contact with parents"
    texts = [clause.text for clause in document.clauses]
    assert "A pupil at risk – The DSL, the same day" in texts
    assert not any("Page furniture" in text for text in texts)


def test_a_text_pdf_is_read_and_a_scanned_one_is_explained(tmp_path):
    from pypdf import PdfWriter

    from policy_kb.errors import PolicyLoadError

    pdf = Path(__file__).parent.parent / "fixtures" / "policies" / "st_aidans.pdf"
    document = load_document(pdf)
    assert document.school_name == "St Aidan's Church of England Primary School"
    assert "Photographs" in [section.heading for section in document.sections]
    assert all("\ufb01" not in clause.text for clause in document.clauses), "ligatures become letters"

    scanned = tmp_path / "scanned.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with scanned.open("wb") as stream:
        writer.write(stream)
    with pytest.raises(PolicyLoadError, match="no text to read"):
        load_document(scanned)


def test_the_school_name_in_a_title_block(tmp_path):
    path = tmp_path / "policy.txt"
    path.write_text("ST AIDAN'S CHURCH OF ENGLAND PRIMARY SCHOOL\nStaff Social Media Policy\n\nPersonal accounts\nYou may have a personal account.\n", encoding="utf-8")
    assert load_document(path).school_name == "St Aidan's Church of England Primary School"


def test_numbered_question_headings_through_the_document_are_sections(tmp_path):
    # As a PDF gives them: no marks, the headings the questions staff ask, numbered through the document.
    text = "\n".join([
        "Riverbank Primary School: Online Code for Staff",
        "1. Who does this code apply to?", "Everyone who works or volunteers here.",
        "2. What counts as social media?", "Any app where people share or message, for example:",
        "1. Facebook", "2. WhatsApp",
        "3. Can I be friends with parents online?", "Only parents you knew before their child joined.",
        "4. Using your phone at work", "Only in the staff room at lunchtime.",
    ])
    path = tmp_path / "code.txt"
    path.write_text(text, encoding="utf-8")
    headings = [section.heading for section in load_document(path).sections]
    assert headings[-4:] == ["1. Who does this code apply to?", "2. What counts as social media?",
                             "3. Can I be friends with parents online?", "4. Using your phone at work"]


def test_a_title_naming_the_school_before_a_colon_and_its_status_in_brackets(tmp_path):
    titled = tmp_path / "titled.md"
    titled.write_text("# Thornfield Church of England Voluntary Controlled Junior School: Staff Social Media Policy\n\n"
                      "## Personal use\n\nStaff may use social media.\n", encoding="utf-8")
    assert load_document(titled).school_name == "Thornfield Church of England Voluntary Controlled Junior School"
    header = tmp_path / "header.txt"
    header.write_text("Thornfield CE (VC) Junior School | Staff Social Media Policy | Version 2\n\nPersonal use\n"
                      "Staff may use social media.\n", encoding="utf-8")
    assert load_document(header).school_name == "Thornfield CE (VC) Junior School"
    # "Voluntary Controlled", like "Primary", is the school's kind: staff write "Thornfield".
    advisor = Advisor.load(policy_path=titled)
    assert "school" in advisor.matcher.read("can I post a pic of the Thornfield Junior summer fair").concepts


def test_markdown_tables_are_rows_and_a_do_and_dont_table_words_each_cell(tmp_path):
    from policy_kb.wording import decided_by

    path = tmp_path / "policy.md"
    path.write_text(
        "# Staff social media policy\n\n## Personal accounts\n\nThe table sums up the rules.\n\n"
        "| Do | Don't |\n|---|---|\n| Check your privacy settings every term | Play online games with pupils |\n"
        "| Share the school's official posts | Send friend requests to parents |\n\n"
        "## Reporting\n\n| Concern | Who to contact |\n| --- | --- |\n| A pupil at risk | The DSL, the same day |\n",
        encoding="utf-8",
    )
    document = load_document(path)
    personal = [clause.text for clause in document.section("personal-accounts").clauses]
    assert personal[1:] == ["Do: Check your privacy settings every term", "Don't: Play online games with pupils",
                            "Do: Share the school's official posts", "Don't: Send friend requests to parents"]
    assert decided_by("Don't: Play online games with pupils") is Verdict.NOT_ALLOWED
    # A "Do" column is a duty, not a permission.
    assert decided_by("Do: Check your privacy settings every term") is not Verdict.ALLOWED
    assert [clause.text for clause in document.section("reporting").clauses] == ["Concern – Who to contact", "A pupil at risk – The DSL, the same day"]


def test_lines_cached_by_an_older_reader_are_read_again(tmp_path, monkeypatch):
    # A PDF parsed before its reader changed (Kingsmoor's "7.2" headings were one section) is parsed anew.
    from policy_kb import document

    pdf = Path(__file__).parent.parent / "fixtures" / "policies" / "kingsmoor.pdf"
    monkeypatch.setattr(document, "READER_VERSION", "old")
    document.load_document(pdf, cache_dir=tmp_path)
    stale = next(tmp_path.glob("policy-text-*.json"))
    stale.write_text('[["A stale line", null]]', encoding="utf-8")
    monkeypatch.undo()
    assert len(document.load_document(pdf, cache_dir=tmp_path).sections) == 12


POLICIES = Path(__file__).parent.parent / "fixtures" / "policies"


def test_a_pdfs_short_numbered_lines_over_paragraphs_are_its_subsections():
    document = load_document(POLICIES / "ferncombe.pdf")
    headings = [section.heading for section in document.sections]
    assert "5.1 Privacy and security" in headings and "6.3 Former students" in headings
    # The running header comes at the end of each page's text, four lines from its bottom.
    assert not any("Staff Social Media and Online Conduct Policy" in clause.text for clause in document.clauses)


def test_a_pdfs_heading_after_a_line_with_no_full_stop_and_after_a_table_starts_its_section():
    document = load_document(POLICIES / "harrowfield.pdf")
    headings = [section.heading for section in document.sections]
    assert "Whistleblowing" in headings and "Reporting Concerns" in headings
    # A table's cells, one per line, are not run into one paragraph with the heading after them.
    assert max(len(clause.text) for clause in document.clauses) < 600


def test_a_trust_named_after_its_schools_is_not_the_school(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text("# St Cuthbert Catholic Academy Trust: Staff Social Media Policy\n\n"
                    "Adopted by: Our Lady of Walsingham Catholic Primary School\n\n## 1. Purpose\n\n"
                    "1.1 This policy applies to employees of the Trust.\n", encoding="utf-8")
    assert load_document(path).school_name == "Our Lady of Walsingham Catholic Primary School"


def test_a_title_a_pdf_wrapped_over_two_lines_names_the_school():
    from policy_kb.document import detect_school_name

    text = ("St Michael and All Angels Church of England Infant\nSchool and Nursery\nStaff Social Media Policy\n"
            "A voluntary aided school in the Diocese of Lichfield.\n")
    assert detect_school_name(text) == "St Michael and All Angels Church of England Infant School"


def test_a_pdfs_numbered_headings_with_a_colon_and_its_questions_on_their_own_lines_are_sections():
    document = load_document(POLICIES / "wolds.pdf")
    headings = [section.heading for section in document.sections]
    assert "2. Scope: who this policy covers" in headings
    assert "Can I connect with former pupils?" in headings and "Where can I use my phone at school?" in headings
    # A bullet whose glyph the PDF lost is still a bullet, not the start of a question heading.
    assert not any(heading.startswith("\x7f") for heading in headings)
    assert not any("\x7f" in clause.text for clause in document.clauses)


def test_a_pdfs_appendices_are_sections_of_their_own():
    headings = [section.heading for section in load_document(POLICIES / "marlowe.pdf").sections]
    assert "Appendix A: Quick guide for staff" in headings and "Appendix B: What to do if..." in headings
    # The appendix after a bullet that ran to the page's width does not run on from it.
    assert not any("Appendix" in clause.text for clause in load_document(POLICIES / "marlowe.pdf").clauses)


def test_a_subsections_heading_is_shown_under_its_sections(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text(
        "Hartwell House Preparatory School\n\n# Staff Handbook, Section 9: Online Conduct\n\n"
        "## Purpose\n\nThis section covers all staff.\n\n## Contact with Parents\n\n### Personal Accounts\n\n"
        "Staff must not accept friend requests from current parents.\n\n### Class Groups\n\n"
        "Staff who are parents may join their own child's class group.\n\n## Reporting\n\nTell the DSL the same day.\n",
        encoding="utf-8",
    )
    headings = [section.heading for section in load_document(path).sections]
    # The lone top heading titles the handbook's section: the headings under it stand on their own.
    assert headings[-4:] == ["Purpose", "Contact with Parents › Personal Accounts", "Contact with Parents › Class Groups", "Reporting"]


def test_word_heading_levels_nest_as_markdowns_do(tmp_path):
    import docx

    word = docx.Document()
    word.add_paragraph("Hartwell House Preparatory School", style="Title")
    word.add_heading("Contact with Pupils", level=1)
    word.add_heading("Former Pupils", level=2)
    word.add_paragraph("Staff may connect with former pupils once they are 18 and have left their senior school.")
    word.add_heading("Devices", level=1)
    word.add_paragraph("Staff must not use personal phones in classrooms.")
    path = tmp_path / "policy.docx"
    word.save(path)
    assert [section.heading for section in load_document(path).sections] == ["Contact with Pupils › Former Pupils", "Devices"]
