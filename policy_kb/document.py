"""A policy document as sections of clauses, read from plain text, Markdown, Word or PDF.

Schools' policies come as pasted text with Word artefacts (`[bookmark: …]`, `·` bullets, headings
without numbers), as Markdown, as .docx (styled or numbered headings, tables, list styles) or as a text PDF
from the school's website. All become the same `PolicyDocument`: sections with their headings exactly as
written and clauses with ids that stay the same from one load to the next."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from policy_kb.errors import PolicyLoadError
from policy_kb.json_cache import cached
from policy_kb.people import naming_clauses, people_named

BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
# "\x7f" is a bullet whose glyph the PDF's font lacked.
BULLET = re.compile(r"^\s*(?:[·•▪◦●\-\*–\x7f]|\(?[a-z]\))\s+")
NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+\S")
SENTENCE_END = (".", ":", ";", ",", "!", "?")
CLAUSE_NUMBER = re.compile(r"^\d{1,2}\.\d{1,2}[.)]?\s")
WORD_NAMESPACE = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# A subsection's heading is shown under its section's: "Contact with Parents › Personal Accounts".
SUBHEADING = " › "
MARKDOWN_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")
# Column headings that word every rule in their column.
COLUMN_RULE = re.compile(
    r"^(?:do|dos|do's|don[’']?t|don[’']?ts|do not|always|never|acceptable|not acceptable|unacceptable|allowed|"
    r"not allowed|permitted|not permitted|yes|no|✓|✔|✗|✘|✅|❌)$", re.IGNORECASE)
# "employees of Alderley Edge Community Primary School", "… the Oakfield Academy"
SCHOOL_AFTER_EMPLOYEES = re.compile(r"employees of (?:the )?((?:[A-Z][\w'’&.-]*\s?){1,8}?(?:School|Academy|College))")
SCHOOL_ANYWHERE = re.compile(r"\b((?:[A-Z][\w'’&.-]*\s){1,7}(?:School|Academy|College))\b(?! (?:Trust|Federation|Partnership|Group)\b)")
# In a title block: "St Aidan's Church of England Primary School".
# "Thornfield CE (VC) Junior School": a school's status in brackets is part of its name.
# A trust, federation or partnership named after its schools ("… Academy Trust") is not one of them.
SCHOOL_TITLE = re.compile(r"\b((?:(?:[A-Z][\w'’&.-]*|\([A-Z][A-Za-z ]{0,8}\))\s(?:(?:of|the|and)\s)?){1,8}(?:School|Academy|College))\b(?! (?:Trust|Federation|Partnership|Group)\b)")


@dataclass(frozen=True)
class Clause:
    clause_id: str
    section: str
    text: str
    kind: str  # "paragraph" or "bullet"


@dataclass(frozen=True)
class Section:
    heading: str
    slug: str
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class PolicyDocument:
    title: str
    school_name: str
    sections: tuple[Section, ...]
    source: str

    @property
    def clauses(self) -> tuple[Clause, ...]:
        return tuple(clause for section in self.sections for clause in section.clauses)

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)

    @cached_property
    def people(self) -> dict[str, str]:
        """Whom the policy names for a role ("Headteacher: Mr D. Okafor"): "mr okafor" -> "the headteacher"."""
        return people_named([self.title, *(section.heading for section in self.sections), *(c.text for c in self.clauses)])

    @cached_property
    def role_holders(self) -> dict[str, Clause]:
        """The clause that names who holds each role ("Designated Safeguarding Lead (DSL): Mrs K. Patel")."""
        return naming_clauses(self.clauses)


@dataclass(frozen=True)
class Line:
    text: str
    hint: str | None = None  # "heading" or "bullet" when the source format says so
    level: int | None = None  # a heading's depth where the format marks it: Markdown's "###", Word's "Heading 3"


# "5. Professional boundaries" is a heading when clauses "5.1", "5.2" follow it.
# Its title may have a part after a colon: "2. Scope: who this policy covers".
NUMBERED_HEADING = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2})?)\.?\s+[A-Z][^.:;!?]{2,80}(?:: [^.:;!?]{2,80})?\??$")
# "7.1.1 This chapter…": the numbers it is a subclause of ("7", "7.1").
# A numbered line this short over a paragraph is a heading: a numbered clause runs longer.
MAX_SUBHEADING_CHARS = 60
SUBCLAUSE_NUMBER = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2})*)\.\d{1,2}\b")
# A heading may be the question it answers: "6. Can I be friends with parents online?"
# "Appendix A: Quick guide for staff", "Annex B – What to do if…": a part after the policy's numbered sections.
APPENDIX_HEADING = re.compile(r"^(?:Appendix|Annex|Annexe|Schedule)\s+[A-Z0-9]{1,2}\b(?:\s*[:.\u2013-]\s*[A-Z][^.:;!?]{2,80}(?:…|\.\.\.)?)?$")
NUMBERED_QUESTION_HEADING = re.compile(r"^\s*(\d{1,2})\.\s+[A-Z][^.:;!]{2,80}(?:: [^.:;!]{2,80})?\??$")
MIN_NUMBERED_SECTIONS = 4
# "Can I be friends with colleagues?" on a line of its own, short of the page's width, heads its answer in a
# PDF; a longer question is a sentence.
MAX_QUESTION_HEADING_WORDS = 16
TITLE_BLOCK_LINES = 8
LISTING_HEADING = re.compile(r"^[A-Z][^,]*(?:, [A-Z][^,]*)*, [A-Z][^,]* (?:and|&) [A-Z][^,]*$")
# How many lines at a page's top and at its bottom may be a running header or footer: a header, its second
# line and a footer of two lines may all come at the end of a page's text.
RUNNING_LINES = 4
PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?\s*$", re.IGNORECASE)
# Bumped whenever reading a Word or PDF file changes what it gives, so an old cache of its lines is never read.
READER_VERSION = "7"
PARSED_FORMATS = {".docx", ".pdf"}  # slow enough to parse that a start-up reads them from the cache


def load_document(path: Path, *, school_name: str = "", cache_dir: Path | None = None) -> PolicyDocument:
    path = Path(path)
    try:
        if path.suffix.lower() in PARSED_FORMATS:
            lines = _cached_lines(path, cache_dir)
        else:
            raw = path.read_text(encoding="utf-8-sig")
            lines = _markdown_lines(raw) if path.suffix.lower() in {".md", ".markdown"} else _text_lines(raw)
    except FileNotFoundError:
        raise PolicyLoadError(f"policy file not found: {path}") from None
    except IsADirectoryError:
        raise PolicyLoadError(f"policy path is a folder, not a file: {path}") from None
    except PermissionError:
        raise PolicyLoadError(f"policy file cannot be read (permission denied): {path}") from None
    except UnicodeDecodeError:
        raise PolicyLoadError(f"policy file is not UTF-8 text: {path}") from None
    except (OSError, ValueError, KeyError) as error:
        raise PolicyLoadError(f"policy file cannot be read ({error.__class__.__name__}): {path}") from None
    if not any(line.text.strip() for line in lines):
        if path.suffix.lower() == ".pdf":
            raise PolicyLoadError(f"policy PDF has no text to read (a scanned PDF?): export it from Word as a text PDF, or use the .docx: {path}")
        raise PolicyLoadError(f"policy file is empty: {path}")
    document = build_document(lines, source=str(path), school_name=school_name)
    if not document.clauses:
        raise PolicyLoadError(f"policy file has no readable clauses: {path}")
    return document


def build_document(lines: list[Line], *, source: str, school_name: str = "") -> PolicyDocument:
    cleaned = _mark_numbered_headings([Line(_clean(line.text), line.hint, line.level) for line in lines])
    full_text = "\n".join(line.text for line in cleaned)
    school = school_name.strip() or detect_school_name(full_text)

    # Markdown and styled Word documents mark their headings; only plain text needs guessing.
    headings_marked = any(line.hint == "heading" for line in cleaned)
    title = ""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    previous_text = ""
    titling_levels = _titling_levels(cleaned)
    parents: list[Line] = []
    for index, line in enumerate(cleaned):
        if not line.text:
            continue
        if not title and not sections and line.hint != "bullet" and _looks_like_title(line):
            title = line.text
            previous_text = line.text
            continue
        current_is_empty = bool(sections) and not sections[-1][1]
        if line.hint == "heading" or (
            not headings_marked and line.hint is None and not current_is_empty and _looks_like_heading(line.text, previous_text)
        ):
            if line.level is not None:
                parents = [parent for parent in parents if parent.level < line.level]
                heading = SUBHEADING.join([*(parent.text for parent in parents), line.text])
                if line.level not in titling_levels:
                    parents.append(line)
            else:
                heading = line.text
            sections.append((heading, []))
        else:
            if not sections:
                sections.append((title or "Introduction", []))
            kind = "bullet" if line.hint == "bullet" or BULLET.match(line.text) or NUMBERED.match(line.text) else "paragraph"
            text = BULLET.sub("", line.text, count=1).strip() if kind == "bullet" and BULLET.match(line.text) else line.text
            sections[-1][1].append((kind, text))
        previous_text = line.text

    built: list[Section] = []
    used_slugs: Counter[str] = Counter()
    for heading, clauses in sections:
        if not clauses:
            continue
        slug = _slug(heading, school)
        used_slugs[slug] += 1
        if used_slugs[slug] > 1:
            slug = f"{slug}-{used_slugs[slug]}"
        built.append(
            Section(
                heading=heading,
                slug=slug,
                clauses=tuple(
                    Clause(clause_id=f"{slug}/{number}", section=heading, text=text, kind=kind)
                    for number, (kind, text) in enumerate(clauses, start=1)
                ),
            )
        )
    return PolicyDocument(title=title, school_name=school, sections=tuple(built), source=source)


def _titling_levels(lines: list[Line]) -> set[int]:
    """The level of a heading that stands alone at the top ("# Staff Handbook, Section 9: Online Conduct"):
    it titles the document, and the headings under it are sections in their own right."""
    levels = Counter(line.level for line in lines if line.hint == "heading" and line.level is not None and line.text)
    return {min(levels)} if levels and levels[min(levels)] == 1 else set()


def detect_school_name(text: str) -> str:
    match = SCHOOL_AFTER_EMPLOYEES.search(text)
    if match:
        return match.group(1).strip()
    # A title block: "Adopted by: Hollins Green Primary School", "ST AIDAN'S CHURCH OF ENGLAND PRIMARY SCHOOL".
    block = [line.strip() for line in text.splitlines() if line.strip()][:TITLE_BLOCK_LINES]
    # A title a PDF wrapped ("St Michael and All Angels Church of England Infant" / "School and Nursery") is
    # read joined, after each line alone.
    for line in [*block, *(f"{first} {second}" for first, second in zip(block, block[1:]))]:
        # The name may follow a label ("Adopted by: …") or come before a title ("… School: Staff Social Media Policy").
        for part in reversed(line.split(":", 1)):
            if part.isupper():
                part = _title_case(part)
            found = SCHOOL_TITLE.search(part + " ")
            if found:
                return found.group(1).strip()
    names = Counter(" ".join(m.group(1).split()) for m in SCHOOL_ANYWHERE.finditer(text))
    return names.most_common(1)[0][0] if names else ""


def _title_case(text: str) -> str:
    small = {"of", "and", "the", "in", "for", "at", "on"}
    words = [w.capitalize() if i == 0 or w.lower() not in small else w.lower() for i, w in enumerate(text.split())]
    return re.sub(r"['’]S\b", "'s", " ".join(words))


def _mark_numbered_headings(lines: list[Line]) -> list[Line]:
    """"5. Professional boundaries with pupils" followed somewhere by "5.1 …" is section 5's heading, and
    "7.2 Your personal accounts" followed by "7.2.1 …" is section 7.2's; so is
    each of "1. Who does this code apply to?", "2. What counts as social media?"… numbered 1, 2, 3… through
    the whole document, where a numbered list starts again at 1."""
    subclauses = {
        ".".join(parts[:length])
        for parts in (m.group(1).split(".") for m in map(SUBCLAUSE_NUMBER.match, (line.text for line in lines)) if m)
        for length in range(1, len(parts) + 1)
    }
    through = _numbered_through(lines)
    marked = []
    for index, line in enumerate(lines):
        match = NUMBERED_HEADING.match(line.text) if line.hint is None else None
        heading = match and (match.group(1) in subclauses or index in through or _titles_its_text(lines, index, match.group(1)))
        marked.append(Line(line.text, "heading") if heading else line)
    return marked


def _titles_its_text(lines: list[Line], index: int, number: str) -> bool:
    """"5.1 Privacy and security" over an unnumbered paragraph: a short numbered line with no sentence's
    end, inside a numbered section, followed by a sentence of its own, is the heading of what follows."""
    following = lines[index + 1].text if index + 1 < len(lines) else ""
    return (
        "." in number and len(lines[index].text) <= MAX_SUBHEADING_CHARS
        and following[:1].isupper() and not NUMBERED.match(following) and not SUBCLAUSE_NUMBER.match(following)
    )


def _numbered_through(lines: list[Line]) -> set[int]:
    """The longest run of lines numbered 1, 2, 3… in order across the document: section headings (a short
    numbered list inside a section starts again at 1 and runs out)."""
    numbered = [
        (index, int(match.group(1))) for index, line in enumerate(lines)
        if line.hint is None and (match := NUMBERED_QUESTION_HEADING.match(line.text))
    ]
    longest: list[int] = []
    for start, (_, number) in enumerate(numbered):
        if number != 1:
            continue
        chain = []
        for index, found in numbered[start:]:
            if found == len(chain) + 1:
                chain.append(index)
        longest = max(longest, chain, key=len)
    return set(longest) if len(longest) >= MIN_NUMBERED_SECTIONS else set()


def _without_running(page: list[str], running: set[str], *, first: bool) -> list[str]:
    """The page without its running header and footer. On the first page the same words again under the
    header are its title block's ("St Columba's Primary School" printed as the header and as the title)."""
    seen: set[str] = set()
    kept = []
    for line in page:
        key = _numberless(line)
        if key in running and not (first and key in seen and any(char.isalpha() for char in key)):
            seen.add(key)
            continue
        kept.append(line)
    return kept


def _numberless(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def _clean(text: str) -> str:
    text = BOOKMARK.sub("", text).replace("\u00a0", " ").replace("\t", " ")
    return re.sub(r" {2,}", " ", text).strip()


def _looks_like_title(line: Line) -> bool:
    letters = [c for c in line.text if c.isalpha()]
    return line.hint == "heading" or (bool(letters) and all(c.isupper() for c in letters) and len(line.text) < 120)


def _looks_like_heading(text: str, previous_text: str) -> bool:
    words = text.split()
    if APPENDIX_HEADING.match(text) and not previous_text.endswith(":"):
        return True  # "Appendix A: Quick guide for staff", its colon and all
    return (
        len(text) <= 90
        and len(words) <= 12
        and text[0].isupper()
        and not text.endswith(SENTENCE_END)
        and not previous_text.endswith(":")
        and not BULLET.match(text)
        and not NUMBERED.match(text)
        and not any(mark in text for mark in ("@", "|", ":", "(", "http"))
        # "Concerns, Abuse and Reporting": a comma only in a heading that lists its subjects, each capitalised.
        and ("," not in text or LISTING_HEADING.match(text) is not None)
        and sum(c.isdigit() for c in text) < 3
    )


def _slug(heading: str, school: str) -> str:
    if school:
        heading = heading.replace(school, "school")
    slug = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
    return slug[:80].rstrip("-") or "section"


def _text_lines(raw: str) -> list[Line]:
    return [Line(line) for line in raw.splitlines()]


def _markdown_lines(raw: str) -> list[Line]:
    lines: list[Line] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            lines.append(Line(" ".join(paragraph)))
            paragraph.clear()

    table: list[list[str]] = []
    for row in raw.splitlines():
        stripped = row.strip()
        if stripped.startswith("|"):
            flush()
            if not MARKDOWN_TABLE_RULE.match(stripped):
                table.append([_unmarked(cell.strip()) for cell in stripped.strip("|").split("|")])
            continue
        if table:
            lines += _table_lines(table)
            table = []
        heading = re.match(r"^#{1,6}\s+(.*)$", stripped)
        if heading:
            flush()
            lines.append(Line(heading.group(1).strip().strip("#").strip(), "heading", len(stripped) - len(stripped.lstrip("#"))))
        elif re.match(r"^([-*+]|\d{1,3}[.)])\s+", stripped):
            flush()
            lines.append(Line(re.sub(r"^[-*+]\s+", "", stripped), "bullet"))
        elif not stripped:
            flush()
        else:
            if CLAUSE_NUMBER.match(stripped):
                flush()  # "4.2 Staff must not…" on the line after 4.1 is a clause of its own
            paragraph.append(_unmarked(stripped))
    flush()
    if table:
        lines += _table_lines(table)
    return lines


def _unmarked(text: str) -> str:
    return re.sub(r"[*_`]{1,2}([^*_`]+)[*_`]{1,2}", r"\1", text)


def _table_lines(rows: list[list[str]]) -> list[Line]:
    """A table row is one clause ("Accepting a parent's friend request – Not acceptable"), except in a table
    whose columns are headed "Do" and "Don't" (or "Acceptable", "Not acceptable"…): there each cell is a rule
    of its own, worded by its column ("Don't: Play online games with pupils")."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0]]
    if len(header) >= 2 and all(COLUMN_RULE.match(cell) for cell in header):
        return [
            Line(f"{heading}: {cell.strip()}", "bullet")
            for row in rows[1:] for heading, cell in zip(header, row) if cell.strip()
        ]
    return [Line(" – ".join(cell.strip() for cell in row if cell.strip()), "bullet") for row in rows]


def _cached_lines(path: Path, cache_dir: Path | None) -> list[Line]:
    """A Word or PDF file's lines, parsed once per version of the file and then read from the cache."""
    def parse() -> list[list]:
        lines = _docx_lines(path) if path.suffix.lower() == ".docx" else _pdf_lines(path)
        return [[line.text, line.hint, line.level] for line in lines]

    source = READER_VERSION.encode() + b"\0" + path.read_bytes()
    return [Line(text, hint, level) for text, hint, level in cached(cache_dir, "policy-text", source, parse)]


def _docx_lines(path: Path) -> list[Line]:
    import docx  # python-docx: only needed for Word documents, so imported here
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises zipfile, lxml and its own errors alike
        raise ValueError(str(error) or error.__class__.__name__) from None
    lines: list[Line] = []
    # Paragraphs and tables in the order they appear; headers and footers (page furniture) are left out.
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(_docx_paragraph(Paragraph(block, document)))
        elif tag == "tbl":
            rows = [list(dict.fromkeys(cell.text.strip() for cell in row.cells)) for row in Table(block, document).rows]
            lines += _table_lines(rows)
            lines.append(Line(""))
    return lines


def _docx_paragraph(paragraph) -> Line:
    style = (paragraph.style.name if paragraph.style is not None else "").lower()
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    outline = paragraph._p.pPr.find(f"{WORD_NAMESPACE}outlineLvl") if paragraph._p.pPr is not None else None
    level = None
    if style.startswith(("heading", "title")) or outline is not None:
        hint = "heading"
        level = _docx_heading_level(style, outline)
    elif numbered and _bold(paragraph) and len(paragraph.text) <= 90:
        hint = "heading"  # a Word-numbered heading typed in bold body text: "5. Contact with parents"
    elif "list" in style or numbered:
        hint = "bullet"
    else:
        hint = None
    return Line(paragraph.text, hint, level)


def _docx_heading_level(style: str, outline) -> int | None:
    if style.startswith("title"):
        return 0
    number = re.search(r"\d+", style) if style.startswith("heading") else None
    if number:
        return int(number.group())
    value = outline.get(f"{WORD_NAMESPACE}val") if outline is not None else None
    return int(value) + 1 if value is not None and value.isdigit() else None


def _bold(paragraph) -> bool:
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold for run in runs)


def _pdf_lines(path: Path) -> list[Line]:
    """A text PDF's lines, with lines wrapped by the page joined back into their paragraph and page
    numbers and running headers (the same line on most pages) left out."""
    from pypdf import PdfReader  # only needed for PDFs
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [(page.extract_text() or "").splitlines() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise ValueError(str(error) or error.__class__.__name__) from None
    # A running header or footer is at a page's top or bottom, and differs from page to page only in its
    # page number ("… – Page 3 of 6"); "Staff may:" repeated down the pages is no header.
    edges = [[line for line in page if line.strip()] for page in pages]
    repeated = Counter(
        line for page in edges for line in {_numberless(line) for line in page[:RUNNING_LINES] + page[-RUNNING_LINES:]}
    )
    running = {line for line, count in repeated.items() if len(pages) > 2 and count > len(pages) / 2}
    # Fonts' ligatures ("ﬁ" in "deﬁnitions") become their letters, so the words match what staff type.
    pages = [[unicodedata.normalize("NFKC", line) for line in page] for page in pages]
    raw = [
        line.rstrip() for number, page in enumerate(pages) for line in _without_running(page, running, first=number == 0)
        if line.strip() and not PAGE_NUMBER.match(line)
    ]
    width = max((len(line) for line in raw), default=0)
    lines: list[str] = []
    items: set[int] = set()  # lines that are items of a list whose marks the PDF's text lost
    headed: set[int] = set()  # lines heading what follows: questions over their answers, appendices
    wrapped_last = ""  # the visual line the previous line ended with
    for index, line in enumerate(raw):
        previous = lines[-1] if lines else ""
        # "Staff may:" then "use your own phone…": after a list's lead-in, a line after a short one starts an item.
        in_list = _after_lead_in(lines)
        # Elsewhere a paragraph grown long goes on (a title in a larger font wraps after fewer letters); once it
        # has wrapped, its lines are of one font, and a short one ended it (a table's cells, one per line).
        full_width = len(wrapped_last if in_list or len(previous) > width else previous) >= 0.6 * width
        following = raw[index + 1].strip() if index + 1 < len(raw) else ""
        # "Whistleblowing" after a contact line with no full stop: a short heading over a sentence of its own.
        heading = (len(line.strip()) < 0.6 * width and _looks_like_heading(line.strip(), previous)
                   and (following[:1].isupper() or bool(BULLET.match(following)))
                   # "…(applies to Ashby" / "Fields Primary Academy)": a bracket left open goes on.
                   and previous.count("(") <= previous.count(")"))
        # "Can I connect with former pupils?" on a line of its own, after a heading or a sentence's end: the
        # question an answer below it answers is the heading of that answer, as Markdown and Word mark it.
        question = _is_question_heading(line.strip(), previous, width)
        appendix = APPENDIX_HEADING.match(line.strip()) is not None
        if question or appendix:
            headed.add(len(lines))
        # A list's lead-in ("Staff must not:"), or a capital after a list's items, starts a paragraph of its own.
        starts_anew = question or appendix or line.rstrip().endswith(":") or (in_list and line[:1].isupper() and not full_width)
        wraps = (
            full_width
            and not previous.rstrip().endswith((".", ":", ";", "!", "?"))
            and not BULLET.match(line)
            and not NUMBERED.match(line)
            and not re.match(r"^\s*\d{1,2}\.\d{1,2}\b", line)
        )
        runs_on = line[:1].islower() and not previous.rstrip().endswith((".", ":", "!", "?")) and not (in_list and not full_width)
        continues = bool(previous) and not starts_anew and not heading and (wraps or runs_on)
        if continues:
            lines[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            if in_list and line[:1].islower():
                items.add(len(lines))
            lines.append(line.strip())
        wrapped_last = line
    return [Line(line, "bullet" if index in items else "heading" if index in headed else None) for index, line in enumerate(lines)]


def _is_question_heading(text: str, previous: str, width: int) -> bool:
    return (
        text.endswith("?") and text[:1].isupper() and len(text.split()) <= MAX_QUESTION_HEADING_WORDS
        and len(text) < 0.9 * width and not BULLET.match(text) and not NUMBERED.match(text)
        and (not previous or previous.rstrip().endswith((".", "!", "?")) or NUMBERED_QUESTION_HEADING.match(previous) is not None)
    )


def _after_lead_in(lines: list[str]) -> bool:
    """Whether the lines so far end in a list: a line ending with ":" and no sentence ended since."""
    for line in reversed(lines):
        if line.rstrip().endswith(":"):
            return True
        if line.rstrip().endswith((".", "!", "?")):
            return False
    return False
