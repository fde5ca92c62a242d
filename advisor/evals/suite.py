"""Load the eval suite: positions (the claim ledger, each with its cases) and the other cases.

Everything here is data read from YAML and validated; a malformed file raises :class:`ConfigError` naming
the file and the entry. It deliberately runs nothing: :mod:`advisor.evals.runner` does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from advisor import resources
from advisor.errors import ConfigError

POSITION_KINDS = ("direct", "paraphrase", "follow_up", "trap")
CATEGORIES = ("position", "out_of_scope", "adversarial")


@dataclass(frozen=True)
class Position:
    id: str
    section: str
    position: str
    quote: str
    alt_quotes: tuple[str, ...] = ()
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()

    @property
    def quotes(self) -> tuple[str, ...]:
        return (self.quote, *self.alt_quotes)


@dataclass(frozen=True)
class Case:
    id: str
    category: str  # position | out_of_scope | adversarial
    kind: str  # direct | paraphrase | follow_up | trap | out_of_scope | injection | prompt_extraction | exfiltration
    question: str
    history: tuple[dict[str, str], ...] = ()
    position: Position | None = None
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()

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

    def select(
        self, categories: list[str] | None = None, kinds: list[str] | None = None, ids: list[str] | None = None
    ) -> Suite:
        """The cases matching every given filter; ``ids`` match a case id or its prefix ("pay-", "path-swe/")."""
        cases = [
            c
            for c in self.cases
            if (not categories or c.category in categories)
            and (not kinds or c.kind in kinds or c.group in kinds)
            and (not ids or any(c.id == i or c.id.startswith(i) for i in ids))
        ]
        return Suite(self.positions, cases, self.digest, self.files)


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


def _question(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
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
        out.append(
            Case(
                id=f"{pos.id}/{kind}",
                category="position",
                kind=kind,
                question=_question(item.get("question"), f"{where}.{kind}"),
                history=_history(item.get("history"), f"{where}.{kind}"),
                position=pos,
                must=_strings(item.get("must"), f"{where}.{kind}.must"),
                must_not=_strings(item.get("must_not"), f"{where}.{kind}.must_not"),
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


def load_suite(evals_dir: Path | None = None) -> Suite:
    """The positions in ``positions.yaml`` (with their cases) plus ``cases.yaml``'s other cases.

    ``evals_dir`` defaults to the suite the advisor ships (``evals/`` in a checkout, its copy when installed).
    """
    folder = evals_dir or resources.evals_dir()
    files = [folder / "positions.yaml", folder / "cases.yaml"]
    ledger, others = _read(files[0]), _read(files[1]) or {}
    if not isinstance(ledger, dict) or not isinstance(ledger.get("positions"), list):
        raise ConfigError(f"{files[0]}: expected a top-level 'positions' list")
    positions: list[Position] = []
    cases: list[Case] = []
    seen: set[str] = set()
    for i, entry in enumerate(ledger["positions"]):
        where = f"{files[0].name}: positions[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        missing = [k for k in ("id", "section", "position", "quote") if not isinstance(entry.get(k), str)]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if entry["id"] in seen:
            raise ConfigError(f"{where}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        pos = Position(
            id=entry["id"],
            section=entry["section"],
            position=entry["position"],
            quote=entry["quote"],
            alt_quotes=tuple(entry.get("alt_quotes") or ()),
            must=_strings(entry.get("must"), f"{where}.must"),
            must_not=_strings(entry.get("must_not"), f"{where}.must_not"),
        )
        if not pos.must:
            raise ConfigError(f"{where}: a position needs at least one 'must' check")
        positions.append(pos)
        cases.extend(_position_cases(pos, entry.get("cases"), f"{where} ({pos.id})"))
    if not isinstance(others, dict):
        raise ConfigError(f"{files[1]}: expected a mapping with out_of_scope and adversarial lists")
    for category in ("out_of_scope", "adversarial"):
        for i, item in enumerate(others.get(category) or []):
            where = f"{files[1].name}: {category}[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise ConfigError(f"{where}: expected a mapping with an id")
            if item["id"] in seen:
                raise ConfigError(f"{where}: duplicate id {item['id']!r}")
            seen.add(item["id"])
            cases.append(
                Case(
                    id=item["id"],
                    category=category,
                    kind=str(item.get("kind") or category),
                    question=_question(item.get("question"), where),
                    history=_history(item.get("history"), where),
                    must_not=_strings(item.get("must_not"), f"{where}.must_not"),
                )
            )
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    return Suite(positions, cases, digest, [str(f) for f in files])
