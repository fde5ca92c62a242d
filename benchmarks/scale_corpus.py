"""The knowledge folders of the scale benchmarks (ingest, dense recall, evidence recall), and their vectors.

A folder of N chunks holds the article and the eval suite's two test articles, then the ``pydoc`` renderings of the standard library (real text that
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


def folder(size: int, synthetic: bool = True, article_only: bool = False) -> Path:
    """A knowledge folder of about ``size`` chunks (see the module docstring); cached. Without ``synthetic`` it
    stops when the pydoc corpus runs out (all of it: ~11k chunks of real text); ``article_only`` leaves the two
    test articles out."""
    from advisor.kb.chunking import chunk_document
    from advisor.kb.loaders import doc_id_for, load_path

    name = f"scale-{size}{'' if synthetic else '-real'}{'-article' if article_only else ''}"
    target = distractors.CACHE / name
    done = target / ".complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    total = 0
    for path in career_documents()[:1] if article_only else career_documents():
        shutil.copy(path, target / path.name)
        doc = load_path(path, 50_000_000)
        total += len(chunk_document(doc.doc_id, doc.text))
    pydoc = sorted(distractors.pydoc_folder().glob("*.txt")) if total < size else []
    # "_asyncio" and "asyncio" get the same document ID: all but the last of such a group are renamed.
    last = {doc_id_for(p.name): p.name for p in pydoc}
    for path in pydoc:
        if total >= size:
            break
        name = path.name if last[doc_id_for(path.name)] == path.name else "pydoc-alt-" + path.name[len("pydoc-") :]
        shutil.copy(path, target / name)
        doc = load_path(target / name, 50_000_000)
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


def career_documents() -> list[Path]:
    """The article, then the eval suite's two test articles (other roles, same kind of text; written blind)."""
    return [common.ARTICLE, *sorted((common.ROOT / "evals" / "documents").glob("*.md"))]


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


def labelled_by_document(kinds: tuple[str, ...] = ("direct", "paraphrase")) -> dict[str, list[common.Labelled]]:
    """Each career document's labelled questions (evals/positions.yaml and evals/suites/*.yaml, same format):
    document stem -> questions with their verbatim quotes."""
    import yaml

    out: dict[str, list[common.Labelled]] = {}
    for ledger in [
        common.ROOT / "evals" / "positions.yaml",
        *sorted((common.ROOT / "evals" / "suites").glob("*.yaml")),
    ]:
        data = yaml.safe_load(ledger.read_text(encoding="utf-8"))
        questions = out.setdefault(Path(data["document"]).stem, [])
        for position in data["positions"]:
            quotes = (position["quote"], *position.get("alt_quotes", []))
            for kind in kinds:
                question = position.get("cases", {}).get(kind)
                if isinstance(question, str):
                    questions.append(common.Labelled(question, quotes, position.get("section", ""), kind))
    return out
