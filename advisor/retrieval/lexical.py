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

TOKENIZER_VERSION = "2"  # bump when the rules below change: persisted indexes rebuild
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
    parts = [TOKENIZER_VERSION, repr(sorted(STOPWORDS)), vocabulary.active().digest]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def tokenize(text: str) -> list[str]:
    vocab = vocabulary.active()
    synonyms = vocab.synonyms
    text = text.lower().replace("’", "'")
    for pattern, replacement in vocab.phrases:
        text = pattern.sub(replacement, text)
    out = []
    for word in re.findall(r"[a-z0-9$]+", text):
        word = synonyms.get(word, word)
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(synonyms.get(_stem(word), _stem(word)))
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
