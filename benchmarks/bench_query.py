"""(2) Query latency: embed the question, then hybrid retrieval, at growing knowledge-base sizes.

One store grows from the real article to 1k, 10k and 100k chunks. The article goes in through the real
ingest path (real embeddings); the synthetic chunks (real article-like text, see ``common.Corpus``) go
straight into Chroma and the manifest with random unit vectors: the query path's cost does not depend on
what the vectors say, and the BM25 index is built over the real synthetic text.

At each size, for every question, interleaved: the question's embedding, ``Retriever.search`` (embed +
dense + BM25 + fusion; "retrieval" is its time minus the embedding), and the anchor, a dense-only Chroma
top-k query as in the tutorial pipeline. Also the parts: manifest check, dense query, BM25 top-k, and the
one-off index (re)build after a change. Run alone: ``python benchmarks/bench_query.py``.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

CACHE = common.BENCH_DIR / ".cache"
CORPUS_KEY = "corpus-v1"


def prepare_store(size: int, embedder=None, per_doc: int = 1000) -> tuple[Path, dict]:  # type: ignore[no-untyped-def]
    """A data dir holding the article plus synthetic chunks up to ``size`` chunks, built once and cached.

    Stores are grown from the next smaller cached one (copied), so 1k, 10k and 100k cost one 100k build
    in all. Delete benchmarks/.cache to rebuild. Returns the data dir and its build record.
    """
    import json
    import shutil

    from advisor.kb import ingest
    from advisor.kb.store import KnowledgeBase
    from advisor.providers.embeddings import LocalEmbedder

    target = CACHE / f"{CORPUS_KEY}-{size}"
    record_file = target / "bench-build.json"
    if record_file.exists():
        return target / "data", json.loads(record_file.read_text())
    smaller = sorted(
        (int(p.name.rsplit("-", 1)[1]), p)
        for p in CACHE.glob(f"{CORPUS_KEY}-*")
        if (p / "bench-build.json").exists() and int(p.name.rsplit("-", 1)[1]) < size
    )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if smaller:
        shutil.copytree(smaller[-1][1] / "data", target / "data")
    settings = common.settings_for(target / "data")
    started = time.perf_counter()
    embedder = embedder or LocalEmbedder()
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    if not smaller:
        ingest.sync_folder(kb, embedder, settings.knowledge_dir)  # the real article, really embedded
    have = len(kb.manifest.live_chunk_ids())
    next_doc = sum(1 for d in kb.manifest.documents if d.startswith("synthetic-"))
    if size > have:
        common.add_synthetic(kb, common.Corpus(seed=size), size - have, per_doc, next_doc, seed=size)
    record = {
        "chunks": len(kb.manifest.live_chunk_ids()),
        "grown_from": smaller[-1][0] if smaller else 0,
        "insert_s": time.perf_counter() - started,
        "built": common.machine()["date"],
        "load": common.load(),
    }
    del kb
    record_file.write_text(json.dumps(record))
    return target / "data", record


def measure(data_dir: Path, questions: list[str], repeats: int, embedder) -> dict:  # type: ignore[no-untyped-def]
    """Open the store cold, then time every question's hybrid search and the dense-only anchor, interleaved."""
    import gc

    from advisor.kb.store import KnowledgeBase
    from advisor.retrieval.retriever import CANDIDATES, Retriever

    settings = common.settings_for(data_dir)
    open_s, kb = common.timed(lambda: KnowledgeBase(settings, embedder.name, embedder.dimension))
    retriever = Retriever(kb, embedder, settings)
    refresh_s, _ = common.timed(retriever.refresh)
    for q in questions[:3]:  # warm caches at this size
        retriever.search(q)
    pauses: list[float] = []  # full (generation 2) garbage collections during the timed queries, in seconds
    began: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if info.get("generation") == 2:
            if phase == "start":
                began.append(time.perf_counter())
            elif began:
                pauses.append(time.perf_counter() - began.pop())

    gc.callbacks.append(on_gc)
    embed_s, search_s, retrieval_s, dense_only_s, manifest_s, dense_s, bm25_s, live_s, count_s = ([] for _ in range(9))
    for _ in range(repeats):
        for q in questions:
            start = time.perf_counter()
            found = retriever.search(q)
            total = time.perf_counter() - start
            search_s.append(total)
            # The question's embedding, and the units of a document's first chunks the retriever reorders (cached)
            embed_s.append(found.timings["embed"])
            retrieval_s.append(total - found.timings["embed"])
            # anchor: dense-only top-4 with the question's vector (embedding excluded, as above)
            vector = embedder.embed([q])[0].tolist()
            t, _ = common.timed(lambda v=vector: kb.query(v, 4))
            dense_only_s.append(t)
            # parts of retrieval
            t, _ = common.timed(kb.reload_manifest)
            manifest_s.append(t)
            t, _ = common.timed(getattr(kb, "live_ids", kb.manifest.live_chunk_ids))  # what query() uses
            live_s.append(t)
            t, _ = common.timed(kb.collection.count)
            count_s.append(t)
            t, _ = common.timed(
                lambda v=vector: kb.collection.chroma.query(query_embeddings=[v], n_results=2 * CANDIDATES)
            )
            dense_s.append(t)
            t, _ = common.timed(lambda q=q: retriever.lexical.top(q, CANDIDATES))
            bm25_s.append(t)
    gc.callbacks.remove(on_gc)
    result = {
        "chunks": retriever.chunk_count,
        "gc_pauses_ms": [round(p * 1000, 1) for p in pauses],
        "open_s": open_s + refresh_s,
        "embed": common.summary_ms(embed_s),
        "search": common.summary_ms(search_s),
        "retrieval": common.summary_ms(retrieval_s),
        "dense_only": common.summary_ms(dense_only_s),
        "manifest": common.summary_ms(manifest_s),
        "chroma": common.summary_ms(dense_s),
        "bm25": common.summary_ms(bm25_s),
        "live_set": common.summary_ms(live_s),
        "count": common.summary_ms(count_s),
    }
    gc.collect()
    return result


def run(
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
    repeats: int = 2,
    n_questions: int = 40,
    advisor=None,  # type: ignore[no-untyped-def]
) -> common.Section:
    from advisor.providers.embeddings import LocalEmbedder

    section = common.Section("query", "2. Query latency", load_before=common.load())
    started = time.perf_counter()
    labelled, _ = common.labelled_questions(("direct",))
    questions = common.spread([q.question for q in labelled], n_questions)
    embedder = common.CountingEmbedder(LocalEmbedder())
    builds = [prepare_store(size, embedder.inner) for size in sizes]
    results = [_article_only(questions, repeats, advisor)]
    for data_dir, build in builds:
        result = measure(data_dir, questions, repeats, embedder)
        result["insert_s"] = build["insert_s"]
        result["build"] = build
        results.append(result)
    section.data = {"sizes": results}
    biggest = results[-1]
    growth = _growth(results[1:])
    target = biggest["retrieval"]["p95"] < 50
    section.rows = [
        (
            f"retrieval p50 / p95 at {biggest['chunks']:,} chunks (excl. embedding)",
            f"{biggest['retrieval']['p50']:.1f} / {biggest['retrieval']['p95']:.1f} ms",
            f"dense-only Chroma top-4: {biggest['dense_only']['p50']:.1f} / {biggest['dense_only']['p95']:.1f} ms",
            f"target p95 < 50 ms: {common.verdict(target)}",
        ),
        (
            "question embedding p50 / p95",
            f"{biggest['embed']['p50']:.1f} / {biggest['embed']['p95']:.1f} ms",
            "-",
            "-",
        ),
        (
            "growth of retrieval p50 with N",
            f"~N^{growth['retrieval']:.2f}",
            f"dense-only: ~N^{growth['dense_only']:.2f}",
            "-",
        ),
    ]
    table = "\n".join(
        f"| {r['chunks']:,} | {r['embed']['p50']:.1f} / {r['embed']['p95']:.1f} | "
        f"**{r['retrieval']['p50']:.1f} / {r['retrieval']['p95']:.1f}** | {r['search']['p50']:.1f} / {r['search']['p95']:.1f} | "
        f"{r['dense_only']['p50']:.1f} / {r['dense_only']['p95']:.1f} |"
        for r in results
    )
    parts = "\n".join(
        f"| {r['chunks']:,} | {r['manifest']['p50']:.2f} | {r['live_set']['p50']:.2f} | {r['count']['p50']:.2f} | "
        f"{r['chroma']['p50']:.2f} | "
        f"{r['bm25']['p50']:.2f} | "
        f"{len(r['gc_pauses_ms'])} ({max(r['gc_pauses_ms'], default=0):.0f} ms) | {r['open_s']:.2f} s | "
        f"{r['insert_s']:.1f} s (built {r['build']['built']}) |"
        for r in results[1:]
    )
    growth_text = (
        f"Growth from {results[1]['chunks']:,} to {biggest['chunks']:,} chunks (log-log slope of p50): retrieval "
        f"~N^{growth['retrieval']:.2f}, dense-only ~N^{growth['dense_only']:.2f}, BM25 ~N^{growth['bm25']:.2f}, "
        f"manifest check ~N^{growth['manifest']:.2f} (N^0 is flat, N^1 linear)."
        if len(results) > 2
        else "(One size only: no growth figure.)"
    )
    section.body = f"""{len(questions)} questions (the eval suite's direct questions) x {repeats} at each size, each question's hybrid search and the dense-only anchor
interleaved. p50 / p95 in ms. "Retrieval" is `Retriever.search` minus its question embedding; "search" includes it.
The synthetic chunks carry **random unit vectors** inserted straight into Chroma (real text, real BM25 index; the
article's chunks are really embedded). Random vectors are the hard case for the HNSW index (no clusters).

| chunks | question embedding | hybrid retrieval (ours) | embed + retrieval | anchor: dense-only Chroma top-4 |
|---|---|---|---|---|
{table}

{growth_text}

Where retrieval time goes (p50, ms), and the one-off costs at each size:

| chunks | manifest check | live-chunk set | Chroma count | Chroma query (40) | BM25 top-20 | full GCs while timing (longest) | opening the store cold (Chroma + lexical index load) | building the store (article + synthetic chunks) |
|---|---|---|---|---|---|---|---|---|
{parts}"""
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


def _article_only(questions: list[str], repeats: int, advisor=None) -> dict:  # type: ignore[no-untyped-def]
    """The real knowledge base alone (the article), through an Advisor's store and a retriever of its own."""
    from advisor.core import Advisor
    from advisor.retrieval.retriever import Retriever

    with tempfile.TemporaryDirectory(prefix="bench-article-") as tmp:
        advisor = advisor or Advisor(common.settings_for(Path(tmp) / "data"))
        embedder = common.CountingEmbedder(advisor.embedder)
        retriever = Retriever(advisor.kb, embedder, advisor.settings)
        refresh_s, _ = common.timed(retriever.refresh)
        embed_s, search_s, retrieval_s, dense_only_s = [], [], [], []
        for _ in range(repeats):
            for q in questions:
                t, found = common.timed(lambda q=q: retriever.search(q))
                search_s.append(t)
                embed_s.append(found.timings["embed"])  # the question's, and any units the retriever embedded
                retrieval_s.append(t - found.timings["embed"])
                vector = embedder.embed([q])[0].tolist()
                t, _ = common.timed(lambda v=vector: advisor.kb.query(v, 4))
                dense_only_s.append(t)
        empty = common.summary_ms([])
        return {
            "chunks": retriever.chunk_count,
            "insert_s": 0.0,
            "open_s": refresh_s,
            "embed": common.summary_ms(embed_s),
            "search": common.summary_ms(search_s),
            "retrieval": common.summary_ms(retrieval_s),
            "dense_only": common.summary_ms(dense_only_s),
            "manifest": empty,
            "chroma": empty,
            "bm25": empty,
            "live_set": empty,
            "count": empty,
            "gc_pauses_ms": [],
        }


def _growth(results: list[dict]) -> dict[str, float]:
    """Log-log slope of p50 between the smallest and the largest size."""
    if len(results) < 2:
        return {k: float("nan") for k in ("retrieval", "dense_only", "bm25", "manifest")}
    a, b = results[0], results[-1]
    ratio = math.log(b["chunks"] / a["chunks"])
    return {
        k: math.log(max(b[k]["p50"], 1e-6) / max(a[k]["p50"], 1e-6)) / ratio
        for k in ("retrieval", "dense_only", "bm25", "manifest")
    }


if __name__ == "__main__":
    sizes = tuple(int(x) for x in sys.argv[1:]) or (1_000, 10_000, 100_000)
    print(run(sizes).body)
