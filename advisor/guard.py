"""Checks on model output before a user sees it.

- ``figures``: the money, percent and other numbers in a text, normalised ("$220K" == "$220,000").
- ``ungrounded_figures``: figures in an answer that no cited source contains. Such a sentence is dropped.
- ``sanitize``: removes Markdown/HTML images, turns links into plain text and drops raw URLs and e-mail
  addresses that the sources don't contain, so nothing in an answer makes the browser fetch anything.
- ``echoes_instructions``: whether text repeats the system prompt.
- ``support``: how much of a sentence's vocabulary the evidence contains.
It deliberately does not judge meaning; :mod:`advisor.answer` decides what to do with these signals.
"""

from __future__ import annotations

import re

from .lexical import tokenize

WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
}
_FIGURE = re.compile(r"(?<![\w.])(\$)?\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?([kKmM]\b|%|\s?percent\b)?")
_CITATION = re.compile(r"\[\d{1,3}\]")
_WORD_FIGURE = re.compile(r"\b(" + "|".join(WORD_NUMBERS) + r")\b", re.I)
_IMAGE_MD = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_IMAGE_REF = re.compile(r"!\[[^\]]*\]\[[^\]]*\]")
_LINK_MD = re.compile(r"\[([^\]]*)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_URL = re.compile(r"(?:https?|ftp|data|javascript)://\S+|\bwww\.\S+|\bdata:[\w/+.-]+;base64,\S+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


def figures(text: str) -> set[str]:
    """Normalised figures: money as '$<value>', percents as '<value>%', other numbers as '<value>'."""
    out: set[str] = set()
    text = _CITATION.sub(" ", text)  # [1], [2] are citation markers, not figures
    for match in _FIGURE.finditer(text):
        dollar, number, unit = match.group(1), match.group(2).replace(",", ""), (match.group(3) or "").strip().lower()
        value = float(number)
        if unit == "k":
            value *= 1_000
        elif unit == "m":
            value *= 1_000_000
        kind = "$" if dollar else ("%" if unit in ("%", "percent") else "")
        formatted = f"{value:g}"
        out.add(f"${formatted}" if kind == "$" else f"{formatted}%" if kind == "%" else formatted)
    for match in _WORD_FIGURE.finditer(text):
        out.add(f"{WORD_NUMBERS[match.group(1).lower()]:g}")
    return out


def ungrounded_figures(text: str, sources: str) -> set[str]:
    """Figures in ``text`` that ``sources`` does not contain. Money and percents must match exactly;
    a bare number is grounded by the same value in any form ("20" by "20%")."""
    known = figures(sources)
    values = {f.strip("$%") for f in known}
    return {f for f in figures(text) if f not in known and (f[0] == "$" or f[-1] == "%" or f not in values)}


def sanitize(text: str, sources: str = "") -> str:
    """Remove what could load or link outside content; keep link text. URLs/e-mails found in sources stay."""
    text = _IMAGE_MD.sub("", text)
    text = _IMAGE_REF.sub("", text)
    text = _LINK_DEF.sub("", text)
    text = _LINK_MD.sub(r"\1", text)
    text = _HTML.sub("", text)
    text = _URL.sub(lambda m: m.group(0) if m.group(0) in sources else "[link removed]", text)
    text = _EMAIL.sub(lambda m: m.group(0) if m.group(0) in sources else "[address removed]", text)
    return text


def echoes_instructions(text: str, instructions: str, n: int = 6) -> bool:
    """True when ``text`` repeats any run of ``n`` consecutive words of ``instructions``."""
    words = re.findall(r"\w+", instructions.lower())
    grams = {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    said = re.findall(r"\w+", text.lower())
    return any(" ".join(said[i : i + n]) in grams for i in range(len(said) - n + 1))


def support(sentence: str, evidence: str) -> float:
    """Share of the sentence's content words that occur in the evidence (1.0 for a sentence with none)."""
    words = tokenize(sentence)
    if not words:
        return 1.0
    known = set(tokenize(evidence))
    return sum(1 for w in words if w in known) / len(words)
