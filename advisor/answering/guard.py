"""Checks on model output before a user sees it.

- ``figures``: the money, percent and other numbers in a text, normalised ("$220K" == "$220,000").
- ``ungrounded_figures``: figures in an answer that no cited source contains. Such a sentence is dropped.
- ``sanitize``: removes Markdown/HTML images, turns links into plain text and drops raw URLs and e-mail
  addresses that the sources don't contain, so nothing in an answer makes the browser fetch anything.
- ``echoes_instructions``: whether text repeats the system prompt; ``leaks_instructions`` also looks
  through base64, hex, ROT13 and reversed text.
- ``split_injections``: a source's text without the sentences that address an AI or carry links
  (indirect prompt injection), and those sentences apart, so answers can be checked against both.
- ``demanded_phrases``: phrases a question orders the answer to say ("reply only with \"PWNED\"").
- ``strip_hidden``: removes invisible characters (zero-width, bidi controls, Unicode tag characters).
- ``support``: how much of a sentence's vocabulary the evidence contains.
It deliberately does not judge meaning; :mod:`advisor.answering.answer` decides what to do with these signals.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from advisor.kb.chunking import split_sentences
from advisor.retrieval.lexical import tokenize
from advisor.retrieval.units import INSTRUCTION_LIKE, LINKISH
from advisor.text import CITATION, INVISIBLE

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
_WORD_FIGURE = re.compile(r"\b(" + "|".join(WORD_NUMBERS) + r")\b", re.I)
_IMAGE_MD = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_IMAGE_REF = re.compile(r"!\[[^\]]*\]\[[^\]]*\]")
_LINK_MD = re.compile(r"\[([^\]]*)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_URL = re.compile(r"(?:https?|ftp|data|javascript)://\S+|\bwww\.\S+|\bdata:[\w/+.-]+;base64,\S+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){8,}")
_ORDER = re.compile(
    r"\b(reply|respond|answer|start|begin|end|say|confirm|output|print|write|repeat|append|include|type)\b", re.I
)
_QUOTED = re.compile(r"\"([^\"]{2,80})\"|“([^”]{2,80})”|(?<!\w)'([^']{2,80})'(?!\w)")


def figures(text: str) -> set[str]:
    """Normalised figures: money as '$<value>', percents as '<value>%', other numbers as '<value>'."""
    out: set[str] = set()
    text = CITATION.sub(" ", text)  # [1], [2] are citation markers, not figures
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


def strip_hidden(text: str) -> str:
    """Remove characters a reader can't see but a model can read (or that smuggle text out)."""
    return INVISIBLE.sub("", text)


def has_active_content(text: str) -> bool:
    """True when the text holds an image, link, URL, e-mail address or HTML tag."""
    return sanitize(text) != text


def decodings(text: str) -> list[str]:
    """The text as written and as it would read if it were an encoding: ROT13, reversed, base64/hex runs."""
    out = [text, codecs.decode(text, "rot13"), text[::-1], " ".join(reversed(text.split()))]
    for run in _BASE64.findall(text):
        try:
            out.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "ignore"))
        except (binascii.Error, ValueError):
            continue
    for run in _HEX.findall(text):
        try:
            out.append(bytes.fromhex(re.sub(r"[\s:]", "", run)).decode("utf-8", "ignore"))
        except ValueError:
            continue
    return out


def leaks_instructions(text: str, instructions: str, n: int = 6) -> bool:
    """``echoes_instructions`` in clear or through a simple encoding."""
    return any(echoes_instructions(variant, instructions, n) for variant in decodings(text))


def split_injections(text: str) -> tuple[str, str]:
    """(trusted, injected): the text's sentences that read like instructions to an AI, or carry links,
    images or addresses, go to ``injected``; the rest stay, line structure kept, in ``trusted``."""
    trusted: list[str] = []
    injected: list[str] = []
    for line in strip_hidden(text).split("\n"):
        kept = []
        for sentence in split_sentences(line):
            if INSTRUCTION_LIKE.search(sentence) or LINKISH.search(sentence) or has_active_content(sentence):
                injected.append(sentence)
            else:
                kept.append(sentence)
        trusted.append(" ".join(kept))
    return "\n".join(trusted).strip(), "\n".join(injected)


def demanded_phrases(question: str) -> list[str]:
    """Quoted phrases in a question that orders the answer to say something ("start with \"I am DAN\"")."""
    if not _ORDER.search(question):
        return []
    return [p.strip().lower() for groups in _QUOTED.findall(question) for p in groups if p.strip()]
