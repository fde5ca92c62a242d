"""Load the eval suites: per document, its positions (the claim ledger, each with its cases) and other cases.

The article's suite is ``positions.yaml`` + ``cases.yaml``; every other suite is one ``suites/*.yaml`` file
whose ``document:`` names the document it checks (a path relative to the folder holding ``evals/``). A suite
is named by its document's id (:func:`advisor.kb.loaders.doc_id_for`), the id the knowledge base gives it.
Everything here is data read from YAML and validated; a malformed file raises :class:`ConfigError` naming
the file and the entry. It deliberately runs nothing (:mod:`advisor.evals.runner` does) and reads no
document's text: the suite tests check the ledger against its document.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from advisor import resources
from advisor.errors import ConfigError
from advisor.kb.loaders import doc_id_for

POSITION_KINDS = ("direct", "paraphrase", "follow_up", "trap", "confirm", "uncovered", "comparison", "decision")
NEEDS_MUST = ("comparison", "decision")  # their own `must` checks the other side / the guidance: nothing new without
CATEGORIES = ("position", "out_of_scope", "adversarial")
SUITE_KEYS = ("document", "positions", "out_of_scope", "adversarial")


@dataclass(frozen=True)
class Position:
    id: str
    section: str
    position: str
    quote: str
    alt_quotes: tuple[str, ...] = ()
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    suite: str = ""  # the id of the document the quote comes from

    @property
    def quotes(self) -> tuple[str, ...]:
        return (self.quote, *self.alt_quotes)


@dataclass(frozen=True)
class Case:
    id: str
    category: str  # position | out_of_scope | adversarial
    kind: str  # one of POSITION_KINDS | out_of_scope | injection | prompt_extraction | exfiltration
    question: str
    history: tuple[dict[str, str], ...] = ()
    position: Position | None = None
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()  # an uncovered case: words the answer must name as not covered
    suite: str = ""  # the id of the document the case belongs to

    @property
    def group(self) -> str:
        """The row of the report's table: position cases by kind, the others by category."""
        return f"position/{self.kind}" if self.category == "position" else self.category


@dataclass
class Suite:
    positions: list[Position]
    cases: list[Case]
    digest: str = ""
    files: list[str] = field(default_factory=list)
    documents: dict[str, Path] = field(default_factory=dict)  # suite name (a doc id) -> its document
    article: str = ""  # the name of the suite in positions.yaml + cases.yaml

    @property
    def suites(self) -> list[str]:
        """The names of the suites that have cases here, in load order."""
        return list(dict.fromkeys(c.suite for c in self.cases))

    def select(
        self,
        categories: list[str] | None = None,
        kinds: list[str] | None = None,
        ids: list[str] | None = None,
        suites: list[str] | None = None,
    ) -> Suite:
        """The cases matching every given filter; ``ids`` match a case id or its prefix ("pay-", "path-swe/")."""
        cases = [
            c
            for c in self.cases
            if (not categories or c.category in categories)
            and (not kinds or c.kind in kinds or c.group in kinds)
            and (not ids or any(c.id == i or c.id.startswith(i) for i in ids))
            and (not suites or c.suite in suites)
        ]
        positions = [p for p in self.positions if not suites or p.suite in suites]
        return replace(self, positions=positions, cases=cases)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a string or a list of strings")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: bad regex {pattern!r} ({exc})") from None
    return tuple(value)


def _history(value: Any, where: str) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    ok = isinstance(value, list) and all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in value
    )
    if not ok:
        raise ConfigError(f"{where}: history must be a list of {{role: user|assistant, content: text}}")
    return tuple({"role": t["role"], "content": t["content"]} for t in value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _question(value: Any, where: str) -> str:
    if not _text(value):
        raise ConfigError(f"{where}: a question (non-empty text) is needed")
    return value.strip()


def _position_cases(pos: Position, raw: Any, where: str) -> list[Case]:
    if not isinstance(raw, dict) or "direct" not in raw:
        raise ConfigError(f"{where}: cases need at least a direct question")
    out = []
    for kind, spec in raw.items():
        if kind not in POSITION_KINDS:
            raise ConfigError(f"{where}: unknown case kind {kind!r} (expected one of {', '.join(POSITION_KINDS)})")
        item = spec if isinstance(spec, dict) else {"question": spec}
        at = f"{where}.{kind}"
        must = _strings(item.get("must"), f"{at}.must")
        if kind in NEEDS_MUST and not must:
            raise ConfigError(f"{at}: a {kind} case needs its own 'must' regexes")
        words = item.get("uncovered")
        if (kind == "uncovered") != (words is not None):
            raise ConfigError(f"{at}: 'uncovered: [words]' belongs to (and is needed by) an uncovered case")
        if words is not None and not (isinstance(words, list) and words and all(_text(w) for w in words)):
            raise ConfigError(f"{at}.uncovered: expected a list of the words the document never mentions")
        out.append(
            Case(
                id=f"{pos.id}/{kind}",
                category="position",
                kind=kind,
                question=_question(item.get("question"), at),
                history=_history(item.get("history"), at),
                position=pos,
                must=must,
                must_not=_strings(item.get("must_not"), f"{at}.must_not"),
                uncovered=tuple(w.strip() for w in words or ()),
                suite=pos.suite,
            )
        )
    return out


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"eval file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None


@dataclass
class _Loader:
    """Collects positions and cases from several files; ids are unique across all of them."""

    root: Path  # the folder holding evals/ (and knowledge/): suite documents are relative to it
    positions: list[Position] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    documents: dict[str, Path] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def mapping(self, data: Any, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data := data or {}, dict):
            raise ConfigError(f"{path}: expected a mapping with {', '.join(keys)}")
        unknown = sorted(set(data) - set(keys))
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(map(repr, unknown))} (expected {', '.join(keys)})")
        self.files.append(path)
        return data

    def document(self, data: dict[str, Any], path: Path, required: bool) -> str:
        """The suite's name: its document's id (the ledger file's stem for a ledger without a document)."""
        name = data.get("document")
        if name is None and not required:
            return path.stem
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{path}: 'document:' must name the document the suite checks")
        document = self.root / name.strip()
        if not document.is_file():
            raise ConfigError(f"{path}: document {name!r} not found (paths are relative to {self.root})")
        suite = doc_id_for(document.name)
        if suite in self.documents:
            raise ConfigError(f"{path}: a second suite for document {suite!r} ({self.documents[suite]})")
        self.documents[suite] = document
        return suite

    def unique(self, cid: str, where: str) -> None:
        if cid in self.seen:
            raise ConfigError(f"{where}: duplicate id {cid!r}")
        self.seen.add(cid)

    def add_positions(self, entries: Any, path: Path, suite: str) -> None:
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: expected a top-level 'positions' list")
        for i, entry in enumerate(entries):
            where = f"{path.name}: positions[{i}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: expected a mapping")
            missing = [k for k in ("id", "section", "position", "quote") if not isinstance(entry.get(k), str)]
            if missing:
                raise ConfigError(f"{where}: missing {', '.join(missing)}")
            self.unique(entry["id"], where)
            pos = Position(
                id=entry["id"],
                section=entry["section"],
                position=entry["position"],
                quote=entry["quote"],
                alt_quotes=tuple(entry.get("alt_quotes") or ()),
                must=_strings(entry.get("must"), f"{where}.must"),
                must_not=_strings(entry.get("must_not"), f"{where}.must_not"),
                suite=suite,
            )
            if not pos.must:
                raise ConfigError(f"{where}: a position needs at least one 'must' check")
            self.positions.append(pos)
            self.cases.extend(_position_cases(pos, entry.get("cases"), f"{where} ({pos.id})"))

    def add_others(self, data: dict[str, Any], path: Path, suite: str) -> None:
        for category in ("out_of_scope", "adversarial"):
            items = data.get(category) or []
            if not isinstance(items, list):
                raise ConfigError(f"{path.name}: {category} must be a list")
            for i, item in enumerate(items):
                where = f"{path.name}: {category}[{i}]"
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise ConfigError(f"{where}: expected a mapping with an id")
                self.unique(item["id"], where)
                self.cases.append(
                    Case(
                        id=item["id"],
                        category=category,
                        kind=str(item.get("kind") or category),
                        question=_question(item.get("question"), where),
                        history=_history(item.get("history"), where),
                        must_not=_strings(item.get("must_not"), f"{where}.must_not"),
                        suite=suite,
                    )
                )


def load_suites(evals_dir: Path | None = None, doc_ids: Iterable[str] | None = None) -> Suite:
    """The article's suite, plus every ``suites/*.yaml`` whose document's id is in ``doc_ids`` (None: all).

    ``evals_dir`` defaults to the suites the advisor ships (``evals/`` in a checkout, its copy when installed).
    Only the suites selected are validated in full (a suite file without a ``document:`` is refused either way).
    """
    folder = evals_dir or resources.evals_dir()
    wanted = None if doc_ids is None else set(doc_ids)
    loader = _Loader(folder.parent)
    ledger_path, cases_path = folder / "positions.yaml", folder / "cases.yaml"
    ledger = loader.mapping(_read(ledger_path), ledger_path, ("document", "positions"))
    article = loader.document(ledger, ledger_path, required=False)
    loader.add_positions(ledger.get("positions"), ledger_path, article)
    loader.add_others(loader.mapping(_read(cases_path), cases_path, SUITE_KEYS[2:]), cases_path, article)
    for path in sorted((folder / "suites").glob("*.yaml")):
        data = _read(path)
        name = data.get("document") if isinstance(data, dict) else None
        if wanted is not None and isinstance(name, str) and doc_id_for(name) not in wanted:
            continue
        data = loader.mapping(data, path, SUITE_KEYS)
        suite = loader.document(data, path, required=True)
        loader.add_positions(data.get("positions"), path, suite)
        loader.add_others(data, path, suite)
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in loader.files)).hexdigest()[:16]
    return Suite(loader.positions, loader.cases, digest, [str(f) for f in loader.files], loader.documents, article)


def load_suite(evals_dir: Path | None = None) -> Suite:
    """The article's suite alone: ``positions.yaml`` (with its cases) plus ``cases.yaml``'s other cases."""
    return load_suites(evals_dir, doc_ids=())
