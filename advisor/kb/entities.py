"""The entities a document compares (the roles, in a careers article) and the backgrounds it advises, learned
from the document itself.

- **Comparison tables**: a Markdown table's column headers (or its row labels: whichever the prose names
  more often) are the entities. "Site Reliability Engineer (SRE)" gives the name and its acronym.
- **Headings**: the vocabulary's ``entity_headings`` shapes ("What an X does") confirm an entity or, in a
  document without a table, introduce one the text names again; ``background_headings`` ("You're a ...",
  "Coming from ...") name the readers a section advises.
- **Aliases**: "Full Name (ABBR)" in the text, plus the vocabulary file's ``aliases``.

:class:`EntityCatalog` is what the answer path uses: it finds entities in any text (singular or plural,
any case, "-" or " " between words, aliases) and gives their plural for rewriting questions. It is built
from what ingest stored in each document's manifest record, so opening a store reads no chunk.
It deliberately knows no entity by name: everything comes from the documents and the vocabulary file.

Long: what is read from a document (tables, headings, aliases, backgrounds) and the catalog share the name
patterns and the English morphology; apart, the two would drift on what counts as the same name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from advisor import vocabulary as vocab_module
from advisor.fileio import atomic_write
from advisor.vocabulary import Vocabulary

META_KEY = "learned"  # where a manifest record keeps what was learned from its document
MAX_NAME_WORDS = 5  # longer is a phrase, not a name
MAX_NAME_CHARS = 48
MIN_BACKGROUND_OVERLAP = 0.5  # words a phrase shares with a background option, over the words of both
MIN_HEADING_MENTIONS = 2  # a heading-only entity must be named again in the text (not a one-off title)
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
SEPARATOR_CELL = re.compile(r"^:?-{2,}:?$")
CELL_SEP = re.compile(r"(?<!\\)\|")
LEAD_IN = re.compile(
    r"^(already|if you'?re|if you are|coming from|switching from|changing careers(?: with| from)?|moving from|from|for)"
    r"\s+(an?\s+|the\s+)?",
    re.I,
)
RELATIVE = re.compile(r"\s+(?:who|that|whose|with|which)\s+", re.I)  # "analyst who enjoys SQL" -> "analyst"
HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$", re.M)
ACRONYM_AFTER = re.compile(r"(?P<full>(?:[A-Z][\w-]*\s+){0,4}[A-Z][\w-]*)\s+\((?P<short>[A-Z][A-Za-z]{1,7})\)")


def _name_like(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= MAX_NAME_WORDS
        and len(text) <= MAX_NAME_CHARS
        and not re.search(r"[\d$%€£/|:;?!]", text)
        and text[:1].isalpha()
    )


def _split_acronym(cell: str) -> tuple[str, list[str]]:
    """ "Site Reliability Engineer (SRE)" -> ("Site Reliability Engineer", ["SRE"])."""
    cell = re.sub(r"[*_`]", "", cell).strip()
    match = re.fullmatch(r"(?P<name>.+?)\s*\((?P<alias>[^()]{1,20})\)", cell)
    if match:
        return match["name"].strip(), [match["alias"].strip()]
    return cell, []


# How the field of an agent noun is named in English: engineer -> engineering, -ntist -> -nce,
# analyst -> analysis, manager -> management, developer -> development. Morphology, not vocabulary.
NOMINAL = ((r"eer$", "eering"), (r"ntist$", "nce"), (r"yst$", "ysis"), (r"ager$", "agement"), (r"oper$", "opment"))


def field_name(name: str) -> str | None:
    """ "Analytics Engineer" -> "Analytics engineering": the name of the entity's discipline, if English makes one."""
    words = name.split()
    if len(words) < 2:
        return None
    for pattern, replacement in NOMINAL:
        if re.search(pattern, words[-1], re.I):
            return " ".join([*words[:-1], re.sub(pattern, replacement, words[-1].lower(), flags=re.I)])
    return None


def _plural_word(word: str) -> str:
    if word.isupper():
        return word + "s"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|ch|sh)$", word):
        return word + "es"
    return word + "s"


def plural(name: str) -> str:
    """ "Platform Engineer" -> "platform engineers", "Data Analyst" -> "data analysts", "SRE" -> "SREs"."""
    words = [w.lower() if w[:1].isupper() and w[1:].islower() else w for w in name.split()]
    if not words:
        return name
    words[-1] = _plural_word(words[-1])
    return " ".join(words)


def name_pattern(name: str) -> str:
    """A regex for ``name`` in running text: any case, singular or plural, "-" or " " between words."""
    raw = [w for w in re.split(r"[\s-]+", name.strip()) if w]
    if not raw:
        return r"(?!)"
    words = [re.escape(w) for w in raw]
    last = raw[-1]
    forms = [re.escape(last)]
    if not last.lower().endswith("s"):
        forms += [re.escape(last) + "(?:s|es)"]
    if re.search(r"[^aeiou]y$", last, re.I):
        forms.append(re.escape(last[:-1]) + "ies")
    words[-1] = "(?:" + "|".join(forms) + ")(?:['’]s)?"
    return r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?![\w-])"


def _mentions(name: str, text: str) -> int:
    return len(re.findall(name_pattern(name), text, re.I))


def _tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if TABLE_ROW.match(line):
            cells = [c.strip() for c in CELL_SEP.split(line.strip().strip("|"))]
            if not all(SEPARATOR_CELL.match(c or "--") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    # A table a chunker split into row groups (each with its header) is one table again.
    merged: dict[tuple[str, ...], list[list[str]]] = {}
    for table in tables:
        rows = merged.setdefault(tuple(table[0]), [table[0]])
        rows.extend(r for r in table[1:] if r not in rows)
    return [t for t in merged.values() if len(t) >= 3 and len(t[0]) >= 3]


@dataclass
class Learned:
    """What one document says about itself: its entities (name -> aliases) and the backgrounds it advises."""

    entities: dict[str, list[str]] = field(default_factory=dict)
    backgrounds: list[str] = field(default_factory=list)

    def to_meta(self) -> dict[str, Any]:
        return {"entities": self.entities, "backgrounds": self.backgrounds}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Learned | None:
        entities, backgrounds = meta.get("entities"), meta.get("backgrounds")
        if not isinstance(entities, dict) or not isinstance(backgrounds, list):
            return None
        return cls(
            {str(k): [str(a) for a in v] for k, v in entities.items() if isinstance(v, list)},
            [str(b) for b in backgrounds],
        )


def learn(text: str, vocabulary: Vocabulary | None = None) -> Learned:
    """The entities and backgrounds of one document's text (Markdown; plain text works, with less to go on)."""
    vocab = vocabulary or vocab_module.active()
    prose = "\n".join(line for line in text.splitlines() if not TABLE_ROW.match(line))
    found: dict[str, list[str]] = {}

    def add(name: str, aliases: Iterable[str] = ()) -> None:
        name = re.sub(r"\s+", " ", name).strip()
        key = next((k for k in found if k.lower() == name.lower()), name)
        merged = found.setdefault(key, [])
        for alias in aliases:
            if alias.lower() != key.lower() and alias.lower() not in (a.lower() for a in merged):
                merged.append(alias)

    for table in _tables(text):
        header, body = table[0], table[1:]
        columns = [_split_acronym(c) for c in header[1:] if c.strip()]
        rows = [_split_acronym(r[0]) for r in body if r and r[0].strip()]
        by_column = [c for c in columns if _name_like(c[0])]
        by_row = [r for r in rows if _name_like(r[0])]

        def score(cands: list[tuple[str, list[str]]]) -> float:
            if len(cands) < 2:
                return -1.0
            return sum(_mentions(n, prose) + sum(_mentions(a, prose) for a in al) for n, al in cands) / len(cands)

        # An empty corner cell says "the columns are the things compared"; otherwise the prose decides.
        pick = by_column if not header[0].strip() and len(by_column) >= 2 else None
        if pick is None:
            pick = by_column if score(by_column) >= score(by_row) else by_row
        if score(pick) <= 0:
            continue  # nothing the text talks about: a table of figures, not of entities
        for name, aliases in pick:
            add(name, aliases)

    from_tables = bool(found)
    headings = [m["text"].strip() for m in HEADING.finditer(text)]
    for heading in headings:
        plain = re.sub(r"[*_`]", "", heading)
        for pattern in vocab.entity_headings:
            match = pattern.search(plain)
            if not match:
                continue
            name, aliases = _split_acronym(match["name"].strip(" .:"))
            known = next((k for k in found if re.fullmatch(name_pattern(k), name, re.I)), None)
            if known:
                add(known, aliases)
            elif not from_tables and _name_like(name) and _mentions(name, prose) >= MIN_HEADING_MENTIONS + 1:
                add(name, aliases)
            break

    for match in ACRONYM_AFTER.finditer(text):
        full, short = match["full"].strip(), match["short"]
        for key in list(found):
            if re.fullmatch(name_pattern(key), full, re.I) or full.lower().endswith(key.lower()):
                add(key, [short])
            elif key.lower() == short.lower():
                add(key, [full])

    for name, extra in vocab.aliases.items():
        owner = next((k for k in found if k.lower() == name.lower()), None)
        if owner:
            add(owner, extra)
    for key in list(found):
        discipline = field_name(key)
        words = key.split()
        modifier = words[0] if len(words) == 2 else ""
        camel = bool(re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", modifier))  # "DevOps" names its role; "AI" or "Data" don't
        # "Site Reliability Engineer" is also called by what it does, "site reliability" (two words or more say
        # enough; one, like "data" or "platform", is an everyday word).
        field = " ".join(words[:-1]) if len(words) >= 3 and discipline else None
        add(key, [a for a in (discipline, modifier if camel else None, field) if a])

    backgrounds: list[str] = []
    parent_level = 0  # inside a section about backgrounds, each sub-heading is one
    for match in HEADING.finditer(text):
        level = len(match.group(0)) - len(match.group(0).lstrip("#"))
        plain = re.sub(r"[*_`]", "", match["text"]).strip()
        if parent_level and level <= parent_level:
            parent_level = 0
        if is_background_parent(plain, vocab):
            parent_level = level
            continue
        who = background_in(plain, bool(parent_level) and level == parent_level + 1, vocab)
        if who and who.lower() not in (b.lower() for b in backgrounds):
            backgrounds.append(who)
    return Learned(found, backgrounds)


def is_background_parent(heading: str, vocab: Vocabulary | None = None) -> bool:
    """Whether a heading introduces a section whose sub-headings are each a reader's background."""
    return any(p.search(heading) for p in (vocab or vocab_module.active()).background_parents)


def background_in(heading: str, under_parent: bool = False, vocab: Vocabulary | None = None) -> str | None:
    """The background a heading is the advice for ("You're a nurse" -> "nurse"; a
    sub-heading of a background section, ``under_parent``, in any phrasing), else None."""
    plain = re.sub(r"[*_`]", "", heading).strip()
    patterns = (vocab or vocab_module.active()).background_headings
    who = next((m["name"] for p in patterns for m in [p.search(plain)] if m), None)
    if who is None and under_parent:
        who = LEAD_IN.sub("", plain)
    if not who:
        return None
    return RELATIVE.split(who.strip(" .:?"))[0].strip() or None


@dataclass(frozen=True)
class Background:
    """A reader the knowledge base advises ("business analyst or accountant"), with its alternatives apart."""

    label: str
    options: tuple[str, ...]  # "business analyst", "accountant"
    doc_id: str = ""  # the document that advises this reader

    def advises(self, section: str, doc_id: str = "") -> bool:
        """Whether a passage under ``section`` (a heading path "A > B", of document ``doc_id``) is this
        background's advice: its last heading is the one this background was learned from (a title that merely
        has the word, "... or Data Analyst? A Field Guide", is not)."""
        if self.doc_id and doc_id and self.doc_id != doc_id:
            return False
        path = [p.strip() for p in section.split(">")]
        under_parent = len(path) > 1 and is_background_parent(path[-2])
        found = background_in(path[-1], under_parent)
        return found is not None and found.lower() == self.label.lower()


def _options(label: str) -> tuple[str, ...]:
    """ "nurse or paramedic" -> ("nurse", "paramedic"); "RN or licensed nurse" -> ("RN nurse",
    "licensed nurse"): a lone acronym shares the last option's head noun."""
    parts = [p.strip() for p in re.split(r"\s*(?:,|\bor\b|/|\band\b)\s*", label) if len(p.strip()) > 1]
    if len(parts) >= 2 and len(parts[-1].split()) >= 2:
        head = parts[-1].split()[-1]
        parts = [f"{p} {head}" if len(p.split()) == 1 and p.isupper() else p for p in parts[:-1]] + [parts[-1]]
    return tuple(parts)


class EntityCatalog:
    """Every entity and background in the knowledge base, and how to find them in text."""

    def __init__(
        self,
        entities: Mapping[str, Iterable[str]] | None = None,
        backgrounds: Iterable[str | tuple[str, str]] = (),
        entity_docs: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.aliases: dict[str, tuple[str, ...]] = {}
        for name, aliases in dict(entities or {}).items():
            key = next((k for k in self.aliases if k.lower() == name.lower()), name)
            self.aliases[key] = tuple(dict.fromkeys([*self.aliases.get(key, ()), *aliases]))
        self.entity_docs = {name: set(docs) for name, docs in dict(entity_docs or {}).items()}
        pairs = [(b, "") if isinstance(b, str) else b for b in backgrounds]
        self.backgrounds = [Background(label, _options(label), doc) for label, doc in dict.fromkeys(pairs)]
        names = sorted(((n, k) for k, al in self.aliases.items() for n in (k, *al)), key=lambda p: -len(p[0]))
        self._owner = {}
        parts = []
        for i, (surface, key) in enumerate(names):
            self._owner[f"e{i}"] = key
            parts.append(f"(?P<e{i}>{name_pattern(surface)})")
        self._pattern = re.compile("|".join(parts), re.I) if parts else None

    @property
    def names(self) -> list[str]:
        return list(self.aliases)

    def __len__(self) -> int:
        return len(self.aliases)

    def find(self, text: str) -> list[str]:
        """The entities ``text`` names, in order of first mention."""
        if self._pattern is None:
            return []
        out: list[str] = []
        for match in self._pattern.finditer(text):
            key = self._owner[match.lastgroup or ""]
            if key not in out:
                out.append(key)
        return out

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, entity) for every mention in ``text``."""
        if self._pattern is None:
            return []
        return [(m.start(), m.end(), self._owner[m.lastgroup or ""]) for m in self._pattern.finditer(text)]

    def plural(self, name: str) -> str:
        return plural(name)

    def section_entity(self, section: str) -> str | None:
        """The one entity a section's heading is about ("What an X does"), or None: no entity, several, or a
        heading that addresses a background ("You're a platform engineer" advises a reader)."""
        tail = section.rsplit(">", 1)[-1].strip().lower()
        if any(b.label.lower() in tail for b in self.backgrounds):
            return None
        named = self.find(tail)
        return named[0] if len(named) == 1 else None

    def background_of(self, phrase: str, near: Iterable[str] = (), docs: Sequence[str] = ()) -> Background | None:
        """The knowledge base's background that ``phrase`` ("a backend developer", "analyst") is, if any. When
        several documents advise a reader like that, the question's document wins: the one that covers the
        entities ``near``, else the first of ``docs`` (document ids, best first: where the question's passages
        come from). Within that document, the option closest to the phrase."""
        from advisor.retrieval.lexical import tokenize  # the vocabulary's synonyms fold abbreviations

        # "data analyst who loves SQL" is a data analyst; "someone with no data experience" is all of it.
        readings = [set(tokenize(phrase)), set(tokenize(RELATIVE.split(phrase)[0]))]
        if not any(readings):
            return None
        covering = {d for name in near for d in self.entity_docs.get(name, ())}
        ranked = list(dict.fromkeys(docs))
        best, best_key = None, (False, -len(ranked), 0.0)
        for background in self.backgrounds:
            for option in background.options:
                terms = set(tokenize(option))
                overlap = max((len(terms & w) / len(terms | w) if terms and w else 0.0) for w in readings)
                place = -ranked.index(background.doc_id) if background.doc_id in ranked else -len(ranked)
                key = (background.doc_id in covering, place, overlap)
                if overlap >= MIN_BACKGROUND_OVERLAP and key > best_key:
                    best, best_key = background, key
        return best

    @classmethod
    def merged(cls, learned: Iterable[Learned], doc_ids: Iterable[str] = ()) -> EntityCatalog:
        entities: dict[str, list[str]] = {}
        docs: dict[str, list[str]] = {}
        backgrounds: list[tuple[str, str]] = []
        for item, doc in zip(learned, [*doc_ids] or repeat(""), strict=False):
            for name, aliases in item.entities.items():
                key = next((k for k in entities if k.lower() == name.lower()), name)
                entities.setdefault(key, []).extend(aliases)
                docs.setdefault(key, []).append(doc)
            backgrounds.extend((b, doc) for b in item.backgrounds)
        return cls(entities, backgrounds, docs)


_memo: dict[str, Learned] = {}  # what this process learned from older records, by content hash and vocabulary


def catalog_for(
    records: Iterable[Any],
    fetch: Callable[[list[str]], Mapping[str, tuple[str, Mapping[str, Any]]]],
    cache_path: Path | None = None,
) -> EntityCatalog:
    """The catalog of a knowledge base from its manifest records. Ingest stores what it learned in each
    record's ``meta``; a record written before that (an older store) is learned once from its chunks, each
    under its section heading, and kept in ``cache_path`` (a JSON file in the data dir) so that other
    processes, and this one next time, don't fetch its chunks again."""
    digest = vocab_module.active().digest
    learned = []
    records = list(records)
    cached = _read_cache(cache_path)
    added = False
    for record in records:
        saved = (getattr(record, "meta", None) or {}).get(META_KEY) or {}
        stored = Learned.from_meta(saved) if isinstance(saved, dict) else None
        if stored is not None and saved.get("vocabulary") == digest:
            learned.append(stored)
            continue
        key = f"{record.content_hash}:{digest}"
        found = _memo.get(key) or Learned.from_meta(cached.get(key) or {})
        if found is None:
            chunks = fetch(list(record.chunk_ids))
            found = learn(from_chunks([chunks[cid] for cid in record.chunk_ids if cid in chunks]))
            cached[key] = found.to_meta()
            added = True
        _memo[key] = found
        learned.append(found)
    if added and cache_path is not None:
        live = {f"{r.content_hash}:{digest}" for r in records}
        atomic_write(cache_path, json.dumps({k: v for k, v in cached.items() if k in live}, sort_keys=True))
    return EntityCatalog.merged(learned, [str(getattr(r, "doc_id", "")) for r in records])


def from_chunks(chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> str:
    """A document's text again from its chunks in order, each under its section's headings at their depth
    ("A > B" is "## A" then "### B"; a heading is written again only where it changes), so that what is learned
    from the chunks is what was learned from the document (background sections are sub-headings)."""
    parts: list[str] = []
    shown: list[str] = []
    for text, meta in chunks:
        path = [p.strip() for p in str(meta.get("section", "")).split(">") if p.strip()]
        same = 0
        while same < min(len(path), len(shown)) and path[same] == shown[same]:
            same += 1
        parts += [f"{'#' * min(depth + 2, 6)} {path[depth]}" for depth in range(same, len(path))]
        shown = path
        parts.append(text)
    return "\n\n".join(parts)


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: learned again and rewritten
    return data if isinstance(data, dict) else {}


def record_meta(text: str) -> dict[str, Any]:
    """What ingest stores under ``meta["learned"]`` of a document's manifest record: its entities,
    backgrounds and the vocabulary they were learned with (another vocabulary: learned again)."""
    return {**learn(text).to_meta(), "vocabulary": vocab_module.active().digest}
