"""A policy document as sections of clauses, read from plain text, Markdown or Word.

Schools' policies come as pasted text with Word artefacts (`[bookmark: …]`, `·` bullets, headings
without numbers), as Markdown, or as .docx. All three become the same `PolicyDocument`: sections with
their headings exactly as written and clauses with ids that stay the same from one load to the next."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from policy_kb.errors import PolicyLoadError

BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
BULLET = re.compile(r"^\s*(?:[·•▪◦●\-\*–]|\(?[a-z]\))\s+")
NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+\S")
SENTENCE_END = (".", ":", ";", ",", "!", "?")
# "employees of Alderley Edge Community Primary School", "… the Oakfield Academy"
SCHOOL_AFTER_EMPLOYEES = re.compile(r"employees of (?:the )?((?:[A-Z][\w'’&.-]*\s?){1,8}?(?:School|Academy|College))")
SCHOOL_ANYWHERE = re.compile(r"\b((?:[A-Z][\w'’&.-]*\s){1,7}(?:School|Academy|College))\b")


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


@dataclass(frozen=True)
class Line:
    text: str
    hint: str | None = None  # "heading" or "bullet" when the source format says so


def load_document(path: Path, *, school_name: str = "") -> PolicyDocument:
    path = Path(path)
    try:
        if path.suffix.lower() == ".docx":
            lines = _docx_lines(path)
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
    if not any(line.text for line in lines):
        raise PolicyLoadError(f"policy file is empty: {path}")
    document = build_document(lines, source=str(path), school_name=school_name)
    if not document.clauses:
        raise PolicyLoadError(f"policy file has no readable clauses: {path}")
    return document


def build_document(lines: list[Line], *, source: str, school_name: str = "") -> PolicyDocument:
    cleaned = [Line(_clean(line.text), line.hint) for line in lines]
    full_text = "\n".join(line.text for line in cleaned)
    school = school_name.strip() or detect_school_name(full_text)

    # Markdown and styled Word documents mark their headings; only plain text needs guessing.
    headings_marked = any(line.hint == "heading" for line in cleaned)
    title = ""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    previous_text = ""
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
            sections.append((line.text, []))
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


def detect_school_name(text: str) -> str:
    match = SCHOOL_AFTER_EMPLOYEES.search(text)
    if match:
        return match.group(1).strip()
    names = Counter(m.group(1).strip() for m in SCHOOL_ANYWHERE.finditer(text))
    return names.most_common(1)[0][0] if names else ""


def _clean(text: str) -> str:
    text = BOOKMARK.sub("", text).replace("\u00a0", " ").replace("\t", " ")
    return re.sub(r" {2,}", " ", text).strip()


def _looks_like_title(line: Line) -> bool:
    letters = [c for c in line.text if c.isalpha()]
    return line.hint == "heading" or (bool(letters) and all(c.isupper() for c in letters) and len(line.text) < 120)


def _looks_like_heading(text: str, previous_text: str) -> bool:
    words = text.split()
    return (
        len(text) <= 90
        and len(words) <= 12
        and text[0].isupper()
        and not text.endswith(SENTENCE_END)
        and not previous_text.endswith(":")
        and not BULLET.match(text)
        and not NUMBERED.match(text)
        and not any(mark in text for mark in ("@", "|", ",", ":", "(", "http"))
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

    for row in raw.splitlines():
        stripped = row.strip()
        heading = re.match(r"^#{1,6}\s+(.*)$", stripped)
        if heading:
            flush()
            lines.append(Line(heading.group(1).strip().strip("#").strip(), "heading"))
        elif re.match(r"^([-*+]|\d{1,3}[.)])\s+", stripped):
            flush()
            lines.append(Line(re.sub(r"^[-*+]\s+", "", stripped), "bullet"))
        elif not stripped:
            flush()
        else:
            paragraph.append(re.sub(r"[*_`]{1,2}([^*_`]+)[*_`]{1,2}", r"\1", stripped))
    flush()
    return lines


def _docx_lines(path: Path) -> list[Line]:
    import docx  # python-docx: only needed for Word documents, so imported here

    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises zipfile, lxml and its own errors alike
        raise ValueError(str(error) or error.__class__.__name__) from None
    lines: list[Line] = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "").lower()
        numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
        if style.startswith(("heading", "title")):
            hint = "heading"
        elif "list" in style or numbered:
            hint = "bullet"
        else:
            hint = None
        lines.append(Line(paragraph.text, hint))
    return lines
