"""BM25 (Okapi) over chunk texts: the lexical half of hybrid retrieval.

A small inverted index in NumPy arrays: scoring a query touches only the postings of its terms, so
it stays fast at 100k chunks. Tokens are lower-cased words with a light plural stemmer and a few
domain synonyms folded together ("salary", "comp", "TC" -> "pay"; "machine learning" -> "ml").
It deliberately does no spelling correction and no phrase queries.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

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
PHRASES = [
    (re.compile(r"\bmachine[- ]learning\b"), "ml"),
    (re.compile(r"\bartificial intelligence\b"), "ai"),
    (re.compile(r"\bdata[- ]science\b"), "data scientist"),
    (re.compile(r"\ba/b\b"), "abtest"),
    (re.compile(r"\btotal comp(ensation)?\b"), "pay"),
    (re.compile(r"\bfine[- ]tun(e|ing|ed)\b"), "finetune"),
    # The summary table's row labels, as people ask for them.
    (
        re.compile(r"\b(main|primary) (job|responsibilit(y|ies)|duty|duties|task)\b|\b(mainly|primarily) do\b"),
        "primary job",
    ),
    (re.compile(r"\b(cent(er|re) of gravity|core (discipline|skill)|built around)\b"), "gravity"),
    (re.compile(r"\b(background fit|(good|natural|best) fit)\b"), "background fit"),
    (re.compile(r"\b(pick(ing)? up|study|studying|master|skill up)\b"), "learn"),
    (
        re.compile(
            r"\b((backend|back-end|frontend|front-end|full[- ]stack|web|software) (developer|dev)|swe|programmer)s?\b"
        ),
        "software engineer",
    ),
    (
        re.compile(
            r"\b(day[- ]to[- ]day|all day|typical (working |work )?day|a day|each day|every day|day[- ]in[- ]the[- ]life|workday|working day)\b"
        ),
        "daily",
    ),
]
SYNONYMS = {
    "salary": "pay",
    "salaries": "pay",
    "comp": "pay",
    "compensation": "pay",
    "tc": "pay",
    "earn": "pay",
    "earns": "pay",
    "paid": "pay",
    "pays": "pay",
    "money": "pay",
    "income": "pay",
    "wage": "pay",
    "wages": "pay",
    "interview": "interview",
    "interviews": "interview",
    "interviewing": "interview",
    "engineers": "engineer",
    "engineering": "engineer",
    "scientists": "scientist",
    "scientific": "scientist",
    "degrees": "degree",
    "phd": "degree",
    "masters": "degree",
    "graduate": "degree",
    "job": "role",
    "jobs": "role",
    "roles": "role",
    "position": "role",
    "positions": "role",
    "title": "role",
    "titles": "role",
    "career": "role",
    "careers": "role",
    "path": "role",
    "emphasize": "emphasis",
    "emphasizes": "emphasis",
    "emphasise": "emphasis",
    "focus": "emphasis",
    "most": "highest",
    "top": "highest",
    "best": "highest",
    "ceiling": "highest",
    "deliver": "ship",
    "delivers": "ship",
    "deliverable": "ship",
    "deliverables": "ship",
    "output": "ship",
    "shipped": "ship",
    "shipping": "ship",
    "alone": "solo",
    "partner": "pair",
    "partners": "pair",
    "pairing": "pair",
    "secure": "security",
    "safe": "security",
    "future": "security",
}


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenizer_signature() -> str:
    """A digest of everything that decides how text becomes tokens: an index built under another
    signature must be rebuilt (the vocabulary is data and can change)."""
    parts = [repr(sorted(STOPWORDS)), repr([(p.pattern, r) for p, r in PHRASES]), repr(sorted(SYNONYMS.items()))]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def tokenize(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    for pattern, replacement in PHRASES:
        text = pattern.sub(replacement, text)
    out = []
    for word in re.findall(r"[a-z0-9$]+", text):
        word = SYNONYMS.get(word, word)
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(SYNONYMS.get(_stem(word), _stem(word)))
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

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = self.scores(query)
        k = min(k, len(self.ids))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self.ids[i], float(scores[i])) for i in best if scores[i] > 0]
