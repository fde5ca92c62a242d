"""The knowledge folders of the scale benchmarks (ingest, dense recall, evidence recall), and their vectors.

A folder of N chunks holds the article, then the ``pydoc`` renderings of the standard library (real text that
has nothing to do with careers, see :mod:`distractors`) in name order, then, past the ~11k chunks those give,
synthetic article-like documents (:class:`common.Corpus`) up to N. Built once per size under
``benchmarks/.cache/scale-<N>/`` (git-ignored).

:class:`ScaleVectors` is the embedder the benchmarks ingest these folders with: the article and pydoc chunks
get their **real** all-MiniLM-L6-v2 vectors from the on-disk cache (computed once by ``distractors.py``; a miss
is embedded for real and kept), the synthetic chunks get random unit vectors (``common.RandomVectors``, as
the other scale benchmarks do: embedding ~90k more chunks for real would take many hours here). So a store of
up to ~11k chunks is real end to end, and the 100k store is real where the questions' true neighbours are.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import distractors

SYNTHETIC_TITLE = "Synthetic career notes"


def folder(size: int, synthetic: bool = True) -> Path:
    """A knowledge folder of about ``size`` chunks (see the module docstring); cached. Without ``synthetic`` it
    stops when the pydoc corpus runs out (all of it: ~11k chunks of real text)."""
    from advisor.kb.chunking import chunk_document
    from advisor.kb.loaders import load_path

    target = distractors.CACHE / (f"scale-{size}" if synthetic else f"scale-{size}-real")
    done = target / ".complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(common.ARTICLE, target / common.ARTICLE.name)
    total = len(chunk_document("article", common.article_body()))
    for path in sorted(distractors.pydoc_folder().glob("*.txt")) if total < size else []:
        if total >= size:
            break
        doc = load_path(path, 50_000_000)
        shutil.copy(path, target / path.name)
        total += len(chunk_document(doc.doc_id, doc.text))
    corpus = common.Corpus(seed=size)
    number = 0
    while synthetic and total < size:
        text = corpus.document(f"{SYNTHETIC_TITLE} {number}", sections=8, paragraphs=10)
        name = f"synthetic-{number:04d}.md"
        (target / name).write_text(text, encoding="utf-8")
        total += len(chunk_document(Path(name).stem, text))
        number += 1
    (target / ".chunks").write_text(str(total))
    done.write_text("")
    return target


def expected_chunks(path: Path) -> int:
    return int((path / ".chunks").read_text())


class ScaleVectors:
    """Real cached vectors for the article and pydoc chunks, random unit vectors for the synthetic ones."""

    def __init__(self, cache: distractors.CachedVectors | None = None) -> None:
        self.real = cache or distractors.CachedVectors()
        self.random = common.RandomVectors(self.real.name, self.real.dimension)
        self.name = self.real.name
        self.dimension = self.real.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        synthetic = [t.startswith(SYNTHETIC_TITLE) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        real = [i for i, s in enumerate(synthetic) if not s]
        fake = [i for i, s in enumerate(synthetic) if s]
        if real:
            out[real] = self.real.embed([texts[i] for i in real])
        if fake:
            out[fake] = self.random.embed([texts[i] for i in fake])
        return out

    @property
    def misses(self) -> int:
        return self.real.misses

    def save(self) -> None:
        self.real.save()
