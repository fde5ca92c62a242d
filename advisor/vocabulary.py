"""The domain vocabulary: aliases, synonyms, phrases, heading shapes and specifics, read from a YAML file.

Knowledge is data: what the careers domain calls things lives in ``knowledge/vocabulary.yaml`` (format in
that file's header), not in the engine. The entities themselves (the roles a document compares) are learned
from the documents (:mod:`advisor.kb.entities`); this file only adds what a document can't say about itself.

One vocabulary is active per process (:func:`active`), because tokenising is a free function called from
every stage: the bundled file until :func:`use` loads the one ``Settings.vocabulary`` names (``Advisor`` and
the ``advisor kb`` commands do). A malformed file raises :class:`ConfigError` naming the entry.
It deliberately learns nothing by itself and never writes the file.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from advisor import resources
from advisor.errors import ConfigError

FILE_NAME = "vocabulary.yaml"


@dataclass(frozen=True)
class Vocabulary:
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)  # word -> canonical word
    phrases: tuple[tuple[re.Pattern[str], str], ...] = ()
    entity_headings: tuple[re.Pattern[str], ...] = ()
    background_headings: tuple[re.Pattern[str], ...] = ()
    background_parents: tuple[re.Pattern[str], ...] = ()
    specifics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> words
    opposites: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()  # (these words, the words meaning the reverse)
    digest: str = "empty"  # of what decides which entities and backgrounds a document has
    token_digest: str = "empty"  # of what decides how text becomes tokens (synonyms, phrases)
    source: str = ""

    def opposite(self, a: str, b: str) -> bool:
        """Whether words ``a`` and ``b`` (lower case) mean the reverse of each other ("grew" / "shrinking")."""
        return any((a in one and b in other) or (b in one and a in other) for one, other in self.opposites)

    def specific_kind(self, word: str) -> str | None:
        """The kind of specific ``word`` is ("currency", "seniority", ...), or None."""
        low = word.lower()
        return next((kind for kind, words in self.specifics.items() if low in words), None)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of words")
    return tuple(v.strip() for v in value)


def _patterns(value: Any, where: str, group: str | None = None) -> tuple[re.Pattern[str], ...]:
    out = []
    for i, text in enumerate(_strings(value, where)):
        try:
            pattern = re.compile(text, re.I)
        except re.error as exc:
            raise ConfigError(f"{where}[{i}]: bad regex {text!r} ({exc})") from None
        if group and group not in pattern.groupindex:
            raise ConfigError(f"{where}[{i}]: the regex needs a named group (?P<{group}>...)")
        out.append(pattern)
    return tuple(out)


def _mapping(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where}: '{key}' must be a mapping")
    return value


def parse(data: Any, where: str = FILE_NAME) -> Vocabulary:
    """A :class:`Vocabulary` from the parsed YAML ``data`` (``None`` is an empty vocabulary)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping (aliases, synonyms, phrases, ...)")
    known = {
        "aliases",
        "synonyms",
        "phrases",
        "entity_headings",
        "background_headings",
        "background_parents",
        "specifics",
        "opposites",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected one of {', '.join(sorted(known))})")
    aliases = {name: _strings(v, f"{where}: aliases.{name}") for name, v in _mapping(data, "aliases", where).items()}
    synonyms: dict[str, str] = {}
    for canonical, words in _mapping(data, "synonyms", where).items():
        for word in _strings(words, f"{where}: synonyms.{canonical}"):
            synonyms[word.lower()] = canonical.lower()
    phrases = tuple(
        (pattern, token.lower())
        for token, regexes in _mapping(data, "phrases", where).items()
        for pattern in _patterns(regexes, f"{where}: phrases.{token}")
    )
    specifics = {
        kind: tuple(w.lower() for w in _strings(words, f"{where}: specifics.{kind}"))
        for kind, words in _mapping(data, "specifics", where).items()
    }
    opposites = []
    for i, pair in enumerate(data.get("opposites") or []):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ConfigError(f"{where}: opposites[{i}]: expected two lists of words, [[...], [...]]")
        one, other = (frozenset(w.lower() for w in _strings(side, f"{where}: opposites[{i}]")) for side in pair)
        if not one or not other or one & other:
            raise ConfigError(f"{where}: opposites[{i}]: two non-empty lists with no word in both")
        opposites.append((one, other))

    def digest_of(*keys: str) -> str:
        part = {key: data.get(key) for key in keys}
        return hashlib.sha256(yaml.safe_dump(part, sort_keys=True, allow_unicode=True).encode("utf-8")).hexdigest()[:16]

    # Editing what only answers read (specifics, opposites) neither re-indexes chunks nor re-reads documents.
    token_digest = digest_of("synonyms", "phrases")
    digest = digest_of("aliases", "synonyms", "phrases", "entity_headings", "background_headings", "background_parents")
    return Vocabulary(
        aliases=aliases,
        synonyms=synonyms,
        phrases=phrases,
        entity_headings=_patterns(data.get("entity_headings"), f"{where}: entity_headings", "name"),
        background_headings=_patterns(data.get("background_headings"), f"{where}: background_headings", "name"),
        background_parents=_patterns(data.get("background_parents"), f"{where}: background_parents"),
        specifics=specifics,
        opposites=tuple(opposites),
        digest=digest,
        token_digest=token_digest,
        source=where,
    )


def load(path: Path) -> Vocabulary:
    """The vocabulary in ``path``; a missing file is an empty vocabulary, a malformed one a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Vocabulary(source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"can't read the vocabulary file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse(data, str(path))


def default_path() -> Path:
    """The vocabulary that ships with the bundled knowledge (the default of ``ADVISOR_VOCABULARY``)."""
    return resources.knowledge_dir() / FILE_NAME


_lock = threading.Lock()
_active: Vocabulary | None = None


def active() -> Vocabulary:
    """The process's vocabulary (loaded on first use)."""
    global _active
    if _active is None:
        with _lock:
            if _active is None:
                _active = load(default_path())
    return _active


def use(vocabulary: Vocabulary | Path | None) -> Vocabulary:
    """Make ``vocabulary`` (or the file at a path; None: the default file) the active one; returns it.
    The same file again is a no-op (cheap to call from every entry point)."""
    global _active
    if isinstance(vocabulary, Path) and _active is not None and _active.source == str(vocabulary):
        return _active
    loaded = vocabulary if isinstance(vocabulary, Vocabulary) else load(vocabulary or default_path())
    with _lock:
        _active = loaded
    return loaded
