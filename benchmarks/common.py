"""Shared parts of the benchmarks: machine facts, timing summaries, the synthetic corpus, stores in temp dirs.

The synthetic corpus is article-like text (the article's own vocabulary mixed with a Zipf-distributed
vocabulary of made-up words), so BM25 postings have a realistic shape at 100k chunks. Its vectors are
random unit vectors (:class:`RandomVectors`): the query path's cost does not depend on what the vectors
say, and embedding 100k chunks for real would take hours on 2 shared cores. Real text, real Chroma,
real BM25; only those vectors are stand-ins, and every result that uses them says so.
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
ARTICLE = ROOT / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- machine and load ------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("onnxruntime", "chromadb", "tokenizers", "llama-cpp-python", "langchain-text-splitters", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": commit.stdout.strip() or "?",
        **{f"{k} version": v for k, v in versions.items()},
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# -- timing summaries ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), p))


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds of a list of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Section:
    """One benchmark's result: figures for the summary table, and its Markdown section."""

    key: str
    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # (figure, ours, anchor/target, verdict)
    body: str = ""
    load_before: str = ""
    load_after: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


# -- settings and documents -------------------------------------------------------------------------------
def settings_for(data_dir: Path, knowledge_dir: Path | None = None, **overrides: Any):  # type: ignore[no-untyped-def]
    """Embedded-default settings with their own data dir (never the project's ./data)."""
    from advisor.settings import load_settings

    env = {
        "ADVISOR_DATA_DIR": str(data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(knowledge_dir or ARTICLE.parent),
        "ADVISOR_PROVIDER": "local",
    }
    return load_settings(env, **overrides)


def article_document():  # type: ignore[no-untyped-def]
    from advisor.kb.loaders import load_path

    return load_path(ARTICLE, 10_000_000)


def article_body() -> str:
    """The article's Markdown without its front matter: the text both pipelines index."""
    from advisor.kb.loaders import parse_front_matter

    return parse_front_matter(ARTICLE.read_text(encoding="utf-8"))[1].strip()


# -- synthetic corpus ------------------------------------------------------------------------------------
class Corpus:
    """Deterministic article-like paragraphs: real domain words plus a long Zipf tail of made-up words."""

    def __init__(self, seed: int = 7, vocab: int = 30_000) -> None:
        import re

        self.rng = np.random.default_rng(seed)
        domain = sorted(set(re.findall(r"[a-z]+", ARTICLE.read_text(encoding="utf-8").lower())))
        syllables = ["ka", "lo", "mi", "ren", "sta", "vo", "tur", "pel", "dan", "qui", "zor", "bex", "nal", "fi"]
        made_up = {"".join(self.rng.choice(syllables, size=int(self.rng.integers(2, 5)))) for _ in range(vocab * 2)}
        words = domain + sorted(made_up - set(domain))[:vocab]
        # Domain words mixed into the frequent head: the query terms have long postings, as in a real career KB.
        head = 3 * len(domain)
        order = np.concatenate([self.rng.permutation(head), np.arange(head, len(words))])
        self.words = np.asarray(words, dtype=object)[order]
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        self.p = (1 / ranks**1.07) / (1 / ranks**1.07).sum()

    def _draw(self, n: int) -> np.ndarray:
        return self.words[self.rng.choice(len(self.words), size=n, p=self.p)]

    def sentence(self, n_words: int) -> str:
        return self._sentence(list(self._draw(n_words)))

    @staticmethod
    def _sentence(words: list[str]) -> str:
        text = " ".join(words)
        return text[:1].upper() + text[1:] + "."

    def paragraph(self, min_words: int = 70, max_words: int = 150) -> str:
        return self.chunks(1, min_words, max_words)[0]

    def chunks(self, n: int, min_words: int = 70, max_words: int = 150) -> list[str]:
        """``n`` paragraphs of ``min_words``-``max_words`` words in sentences of 8-21 words (drawn in bulk: fast)."""
        sizes = self.rng.integers(min_words, max_words, size=n)
        pool = list(self._draw(int(sizes.sum()) + 32))
        lengths = self.rng.integers(8, 22, size=int(sizes.sum()) // 8 + n + 1)
        out: list[str] = []
        at = 0
        li = 0
        for size in sizes:
            sentences = []
            taken = 0
            while taken < size:
                k = min(int(lengths[li]), int(size) - taken) if int(size) - taken >= 8 else int(size) - taken
                li += 1
                sentences.append(self._sentence(pool[at : at + k]))
                at += k
                taken += k
            out.append(" ".join(sentences))
        return out

    def document(self, title: str, sections: int, paragraphs: int) -> str:
        parts = [f"# {title}", ""]
        for s in range(sections):
            parts += [f"## Part {s + 1}: {self.sentence(4)[:-1]}", ""]
            for _ in range(paragraphs):
                parts += [self.paragraph(), ""]
        return "\n".join(parts)


def random_unit_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class RandomVectors:
    """A stand-in embedder for the synthetic corpus: a random unit vector per text (stable per text).

    It carries the real model's name and dimension so the store accepts it, which is the point: it lets
    the benchmarks build 10k-100k-chunk stores in seconds. Never used for a quality figure.
    """

    def __init__(self, name: str = "all-MiniLM-L6-v2", dimension: int = 384) -> None:
        self.name = name
        self.dimension = dimension
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            out[row] = np.random.default_rng(seed).standard_normal(self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class CountingEmbedder:
    """Wraps a real embedder and records how many texts it embedded and how long that took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0
        self.seconds = 0.0
        self.last_seconds = 0.0

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.inner.embed(texts)
        self.last_seconds = time.perf_counter() - start
        self.seconds += self.last_seconds
        self.texts += len(texts)
        return out


def add_synthetic(kb: Any, corpus: Corpus, n_chunks: int, per_doc: int, start_doc: int, seed: int) -> int:
    """Put ``n_chunks`` synthetic chunks (random vectors) straight into the store and the manifest.

    Returns the next free document number. Goes through ``kb.upsert`` and the manifest like ingest does,
    but skips chunking and embedding (the texts are already chunk-sized).
    """
    from advisor.kb.manifest import DocumentRecord

    vectors = random_unit_vectors(n_chunks, kb.dimension, seed)
    texts = corpus.chunks(n_chunks)
    doc = start_doc
    for start in range(0, n_chunks, per_doc):
        doc_id = f"synthetic-{doc:05d}"
        part = texts[start : start + per_doc]
        ids = [f"{doc_id}:{i:05d}" for i in range(len(part))]
        metas = [
            {
                "doc_id": doc_id,
                "title": f"Synthetic {doc}",
                "section": f"Part {i // 10 + 1}",
                "index": i,
                "source": "bench",
            }
            for i in range(len(part))
        ]
        kb.collection.upsert(ids, vectors[start : start + per_doc], part, metas)
        kb.manifest.documents[doc_id] = DocumentRecord(
            doc_id=doc_id,
            title=f"Synthetic {doc}",
            source="bench",
            content_hash=doc_id,
            added="2026-01-01T00:00:00+00:00",
            chunk_ids=ids,
            origin="upload",
        )
        doc += 1
    kb.save_manifest()
    return doc


# -- labelled questions -------------------------------------------------------------------------------------
@dataclass
class Labelled:
    question: str
    quotes: tuple[str, ...]  # verbatim from the article; a retrieved chunk "hits" when it contains one of them
    section: str = ""
    kind: str = "direct"


def normalise(text: str) -> str:
    import re

    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_quote(text: str, quotes: Sequence[str]) -> bool:
    body = normalise(text)
    return any(normalise(q) in body for q in quotes)


def labelled_questions(kinds: tuple[str, ...] = ("direct", "paraphrase")) -> tuple[list[Labelled], str]:
    """Single-turn labelled questions and where they came from.

    The eval suite's position cases (evals/positions.yaml: each position's verbatim quote and alt_quotes,
    its direct and paraphrase questions) when that file exists; else benchmarks/questions.yaml.
    """
    import yaml

    ledger = ROOT / "evals" / "positions.yaml"
    if ledger.exists():
        out: list[Labelled] = []
        for position in yaml.safe_load(ledger.read_text(encoding="utf-8"))["positions"]:
            quotes = (position["quote"], *position.get("alt_quotes", []))
            for kind in kinds:
                question = position.get("cases", {}).get(kind)
                if isinstance(question, str):
                    out.append(Labelled(question, quotes, position.get("section", ""), kind))
        if out:
            return out, f"evals/positions.yaml ({', '.join(kinds)} cases)"
    data = yaml.safe_load((BENCH_DIR / "questions.yaml").read_text(encoding="utf-8"))
    return [Labelled(q["question"], (q["quote"],), q.get("section", "")) for q in data["questions"]], (
        "benchmarks/questions.yaml"
    )


def spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items taken evenly across ``items`` (all of them if there are fewer)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def write_section(path: Path, section: Section) -> None:
    """Put one section into an existing RESULTS.md: replace the section with the same title, else append it.

    For a benchmark run on its own: the rest of the file (other sections, the summary) is left as it is.
    """
    block = (
        f"## {section.title}\n\n{section.body}\n\n_Load (1/5/15 min) before: {section.load_before}; after: "
        f"{section.load_after}; took {section.seconds:.0f} s; written {machine()['date']} at commit "
        f"{machine()['commit']}._\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head = f"## {section.title}\n"
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + len(head))
        text = text[:start] + block + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")
