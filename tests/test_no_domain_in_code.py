"""The engine names no role, domain word or article phrase: knowledge is data (issue 10, STYLE point 11).

Every ``advisor/**/*.py`` file is read for what the bundled article and its vocabulary would put there:

- **entity names and aliases** the article's catalog learns (``advisor.kb.entities.learn``), singular or
  plural, any case; a short acronym alias ("DS") only as written, upper case;
- **backgrounds** the article advises, each of its options of more than one word ("software engineer");
- **domain words**: the vocabulary's synonyms and the words its phrases match in the article, longer than
  three letters, that general English hardly uses (fewer than ``GENERAL_USES`` times in the Python
  standard library's own source) and that the careers domain at large doesn't use either (neither of the
  two other career documents in ``evals/documents/`` has them). So "pay", "role" or "salary" may appear;
  "scientist", "compensation" or "grads" may not;
- **article phrases**: any run of ``PHRASE_WORDS`` words of the article's text, across line breaks.

A failure names every ``file:line`` and what it found there.
"""

from __future__ import annotations

import re
import sysconfig
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from advisor import vocabulary
from advisor.kb.entities import learn, name_pattern, plural
from advisor.settings import PROJECT_DIR

ARTICLE = PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"
VOCABULARY = PROJECT_DIR / "knowledge" / "vocabulary.yaml"
OTHER_DOCUMENTS = sorted((PROJECT_DIR / "evals" / "documents").glob("*.md"))
CODE = sorted((PROJECT_DIR / "advisor").rglob("*.py"))
PHRASE_WORDS = 5  # four-word runs ("one of the most") are common English; five are a quotation
GENERAL_USES = 5  # a word the standard library's text uses this often is general English
SHORT_ALIAS = 3  # an alias this short is an acronym: matched as written, upper case ("DS", not "ds =")
# General English the code has every right to use, that the two rules above can't tell from the domain's:
# "money" (money figures), "emphasis" (Markdown emphasis), "tune"/"tuning" (tuning numbers, STYLE point 14).
GENERAL_ENGLISH = frozenset({"money", "emphasis", "tune", "tuning"})
WORD = re.compile(r"[a-z0-9$%]+")


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _general_uses(words: set[str]) -> Counter[str]:
    """How often the Python standard library's source uses each of ``words``."""
    letters_only = bytes(c if ord("a") <= c <= ord("z") else ord(" ") for c in range(256))
    wanted = {w.encode() for w in words}
    counts: Counter[str] = Counter()
    for path in Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"):
        if "site-packages" not in path.parts:
            text = path.read_bytes().lower().translate(letters_only)
            counts.update(w.decode() for w in text.split() if w in wanted)
    return counts


def _in(word: str, words: set[str]) -> bool:
    """``word`` or its plural or singular is in ``words``."""
    return any(form in words for form in (word, word + "s", word + "es", word.removesuffix("s")))


@cache
def domain_words() -> list[str]:
    vocab = vocabulary.load(VOCABULARY)
    article = ARTICLE.read_text(encoding="utf-8").lower()
    candidates = {w for pair in vocab.synonyms.items() for s in pair for w in re.findall(r"[a-z]+", s)}
    for pattern, token in vocab.phrases:
        candidates.update(re.findall(r"[a-z]+", token))
        for match in pattern.finditer(article):
            candidates.update(re.findall(r"[a-z]+", match.group()))
    careers = {w for path in OTHER_DOCUMENTS for w in re.findall(r"[a-z]+", path.read_text(encoding="utf-8").lower())}
    candidates = {w for w in candidates if len(w) > 3 and not _in(w, careers) and w not in GENERAL_ENGLISH}
    general = _general_uses(candidates)
    return sorted(w for w in candidates if general[w] < GENERAL_USES)


@cache
def checks() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(what, pattern) for every name, background and domain word the code must not hold."""
    learned = learn(ARTICLE.read_text(encoding="utf-8"), vocabulary.load(VOCABULARY))
    out: list[tuple[str, re.Pattern[str]]] = []
    for name, aliases in learned.entities.items():
        for surface in (name, *aliases):
            if len(surface) <= SHORT_ALIAS and surface.isupper():
                out.append((f"alias {surface!r}", re.compile(rf"(?<![\w-]){re.escape(surface)}s?(?![\w-])")))
            else:
                out.append((f"entity {surface!r}", re.compile(name_pattern(surface), re.I)))
    for background in learned.backgrounds:
        options = re.split(r"\s*(?:,|\bor\b|/|\band\b)\s*", background)
        for phrase in {background, *options}:
            if len(phrase.split()) > 1 or "-" in phrase:
                out.append((f"background {phrase!r}", re.compile(name_pattern(phrase), re.I)))
    for word in domain_words():
        out.append((f"domain word {word!r}", re.compile(rf"(?<![\w-]){word}(?![\w-])", re.I)))
    return tuple(out)


@cache
def article_phrases() -> frozenset[tuple[str, ...]]:
    words = _words(ARTICLE.read_text(encoding="utf-8"))
    return frozenset(tuple(words[i : i + PHRASE_WORDS]) for i in range(len(words) - PHRASE_WORDS + 1))


def findings(text: str, where: str) -> list[str]:
    """``where:line: what`` for every name, domain word and article phrase in ``text``."""
    lines = text.splitlines()
    found: list[str] = []
    for number, line in enumerate(lines, 1):
        hits = [f"{what} ({match.group()!r})" for what, pattern in checks() if (match := pattern.search(line))]
        if hits:
            found.append(f"{where}:{number}: {', '.join(hits)}")
    words = [(w, n) for n, line in enumerate(lines, 1) for w in _words(line)]
    phrases = article_phrases()
    reported: set[int] = set()
    for i in range(len(words) - PHRASE_WORDS + 1):
        run = tuple(w for w, _ in words[i : i + PHRASE_WORDS])
        line = words[i][1]
        if run in phrases and line not in reported:
            reported.add(line)
            found.append(f"{where}:{line}: article phrase {' '.join(run)!r}")
    return found


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_the_code_names_no_role_domain_word_or_article_phrase(path: Path) -> None:
    found = findings(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_DIR)))
    assert not found, "knowledge belongs in the knowledge base or knowledge/vocabulary.yaml:\n" + "\n".join(found)


def test_each_kind_of_finding_is_reported_with_its_line() -> None:
    """Planted in a file, every kind of finding is reported where it is (the check can fail), and a clean
    line is not."""
    learned = learn(ARTICLE.read_text(encoding="utf-8"), vocabulary.load(VOCABULARY))
    first_entity = next(iter(learned.entities))
    summary = ARTICLE.read_text(encoding="utf-8").split("\n\n")[2].split()  # the article's first paragraph
    planted = "\n".join(
        [
            "total = sum(values)  # plain code",
            f"ROLE = {plural(first_entity).upper()!r}",
            f"# for a {learned.backgrounds[0]}",
            f"WORDS = {domain_words()[:1]!r}",
            f'"""{" ".join(summary[10:13])}',
            f'{" ".join(summary[13:17])}"""',
        ]
    )
    found = findings(planted, "advisor/planted.py")
    kinds = {int(f.split(":")[1]): f.split(": ", 1)[1].split()[0] for f in found}
    assert kinds == {2: "entity", 3: "background", 4: "domain", 5: "article"}, found
