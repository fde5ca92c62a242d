"""BM25 (Okapi) over chunk texts: the lexical half of hybrid retrieval.

A small inverted index in NumPy arrays: scoring a query touches only the postings of its terms, so
it stays fast at 100k chunks. Tokens are lower-cased words with a light plural stemmer; the domain's
synonyms and phrases ("salary", "comp", "TC" -> "pay") come from the vocabulary file
(:mod:`advisor.vocabulary`), never from this module.
It deliberately does no spelling correction and no phrase queries.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from advisor import vocabulary

TOKENIZER_VERSION = "3"  # bump when the rules below change: persisted indexes rebuild
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "their",
        "what",
        "whats",  # "whats", "whos", "hows": the question words typed without their apostrophe
        "whos",
        "hows",
        "wheres",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "about",
        "into",
        "than",
        "then",
        "so",
        "such",
        "not",
        "no",
        "yes",
        "just",
        "also",
        "very",
        "more",
        "much",
        "many",
        "any",
        "some",
        "all",
        "each",
        "both",
        "either",
        "there",
        "here",
        "up",
        "out",
        "over",
        "under",
        "again",
        "further",
        "once",
        "s",
        "t",
        "don",
        "ll",
        "ve",
        "re",
        "m",
        "d",
        "really",
        "right",
        "tell",
        "know",
    ]
)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenizer_signature() -> str:
    """A digest of everything that decides how text becomes tokens: an index built under another
    signature must be rebuilt (the vocabulary is data and can change)."""
    parts = [TOKENIZER_VERSION, repr(sorted(STOPWORDS)), vocabulary.active().token_digest]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


# Text whose phrases the ASCII-mode patterns match exactly as the vocabulary's own (Unicode, case-insensitive)
# ones do: ASCII, without the four separators (\x1c-\x1f) that only Unicode's \s counts as white space.
_ASCII_SAFE = re.compile(r"[\x00-\x1b\x20-\x7f]*")
# A pattern with a capital letter, or an escape that may stand for one, needs case folding even on lower-cased
# text; any other matches lower-cased ASCII text the same without it (and folding doubles the cost of a scan).
_CASED = re.compile(r"[A-Z]|\\[xuUN0-7]")
_WORD = re.compile(r"[a-z0-9$]+")
WORD_CACHE = 200_000  # distinct words whose token is remembered (a few MB): a corpus repeats most of its words


def _ascii(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` as it matches lower-cased ASCII text (without the separators only Unicode counts as space)."""
    flags = (pattern.flags & ~re.UNICODE) | re.ASCII
    if not _CASED.search(pattern.pattern):
        flags &= ~re.IGNORECASE
    return re.compile(pattern.pattern, flags)


class _Rules:
    """What :func:`tokenize` derives from one vocabulary: its phrase patterns for lower-cased ASCII text (ASCII
    mode, no case folding unless a pattern needs it: ~3x faster, same matches) and the token (or None: dropped)
    each word seen so far becomes."""

    def __init__(self, vocab: vocabulary.Vocabulary) -> None:
        self.vocab = vocab
        self.ascii_phrases = tuple((_ascii(pattern), replacement) for pattern, replacement in vocab.phrases)
        self.words: dict[str, str | None] = {}

    def token(self, word: str) -> str | None:
        synonyms = self.vocab.synonyms
        word = synonyms.get(word, word)
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            return None
        stem = _stem(word)
        return synonyms.get(stem, stem)


_rules: _Rules | None = None


def _rules_for(vocab: vocabulary.Vocabulary) -> _Rules:
    global _rules
    rules = _rules
    if rules is None or rules.vocab is not vocab:
        rules = _rules = _Rules(vocab)
    return rules


def tokenize(text: str) -> list[str]:
    rules = _rules_for(vocabulary.active())
    text = text.lower().replace("’", "'")
    for pattern, replacement in rules.ascii_phrases if _ASCII_SAFE.fullmatch(text) else rules.vocab.phrases:
        text = pattern.sub(replacement, text)
    words = rules.words
    if len(words) > WORD_CACHE:
        words.clear()
    out = []
    for word in _WORD.findall(text):
        token = words.get(word, "")
        if token == "":
            token = words[word] = rules.token(word)
        if token is not None:
            out.append(token)
    return out


class BM25Index:
    """Okapi BM25 with k1=1.5, b=0.75 over a fixed set of documents (rebuild to change it)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.ids = list(ids)
        self.k1, self.b = k1, b
        n = len(self.ids)
        lengths = np.zeros(n, dtype=np.float32)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for row, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths[row] = sum(counts.values())
            for term, tf in counts.items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(row)
                tfs.append(tf)
        avg = float(lengths.mean()) if n else 1.0
        self._norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        self._postings = {
            term: (np.asarray(docs, dtype=np.int32), np.asarray(tfs, dtype=np.float32))
            for term, (docs, tfs) in postings.items()
        }
        self._idf = {
            term: math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5)) for term, (docs, _) in self._postings.items()
        }

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query)):
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            scores[docs] += self._idf[term] * tfs * (self.k1 + 1) / (tfs + self._norm[docs])
        return scores

    def document_frequency(self, term: str) -> int:
        """How many documents hold ``term`` (a token as :func:`tokenize` makes it)."""
        posting = self._postings.get(term)
        return 0 if posting is None else len(posting[0])

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = self.scores(query)
        k = min(k, len(self.ids))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self.ids[i], float(scores[i])) for i in best if scores[i] > 0]
