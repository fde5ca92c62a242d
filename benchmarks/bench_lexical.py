"""(8) The persisted lexical index: cold open + first question, the first question after a change, size on disk.

At each size (the query stores of section 2, ``bench_query.prepare_store``: the article plus synthetic chunks
with random vectors; the questions are really embedded):

- **Cold open + first question**, each in a fresh process, timed from the process's start (imports included):
  open the knowledge base and the retriever, then the first ``Retriever.search``. Anchor, interleaved in the
  same run: the former open path, the same way — fetch every live chunk's text from Chroma, tokenise it into
  the in-memory ``BM25Index``, then the same question through the same dense query and fusion. Also the first
  full ``Advisor.ask`` (chat model included) in a fresh process, on the new path. The OS file cache is warm
  (dropping it needs root), so "cold" means a process that has read nothing yet.
- **The first question after a change, in a reader that was already running** (this process): another process
  (``advisor kb add`` / ``kb remove``) edits one paragraph of the article, replaces it with all-new article-sized
  text, or removes a 1,000-chunk document; the reader's first question after it against its ordinary questions.
- **Size on disk** of the index (SQLite file + WAL) beside Chroma's, and the one-off build of the index for a
  store that has none (what the upgrade, or a new server-mode app instance, pays once).
- **Agreement**: each question's lexical top-20 from the index against the former BM25 over the same chunks.

Run alone: ``python benchmarks/bench_lexical.py [sizes...]`` (default 10000 100000).
"""

from __future__ import annotations

import time

START = time.perf_counter()  # a worker's clock starts before its imports

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

N_QUESTIONS = 40  # questions for agreement and for the lexical top-20 timing
ORDINARY = 5  # ordinary questions timed before each change (their median is the reference)


# -- workers: each runs in a fresh process and prints one JSON line ---------------------------------------------
def _worker(mode: str, data_dir: str) -> dict[str, Any]:
    from advisor.kb.store import KnowledgeBase
    from advisor.providers.embeddings import LocalEmbedder
    from advisor.retrieval import retriever as retrieval

    imported = time.perf_counter()
    settings = common.settings_for(Path(data_dir))
    questions = _questions()
    if mode == "answer":
        from advisor.core import Advisor

        answer = Advisor(settings.with_(log="off"), auto_build=False).ask(questions[0])  # no answer log in the store
        return {"total_s": time.perf_counter() - START, "refused": answer.refused, "chars": len(answer.text)}
    embedder = LocalEmbedder()
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    opened = time.perf_counter()
    if mode == "new":
        retriever = retrieval.Retriever(kb, embedder, settings)
        retriever.refresh()
        loaded = time.perf_counter()
        retriever.search(questions[0])
        lexical = retriever.lexical.top
    else:
        bm25 = _old_open(kb)
        loaded = time.perf_counter()
        _old_search(kb, embedder, bm25, questions[0])
        lexical = bm25.top
    answered = time.perf_counter()
    rankings, top_s = [], []
    for question in questions:
        begun = time.perf_counter()
        rankings.append(lexical(question, retrieval.CANDIDATES))
        top_s.append(time.perf_counter() - begun)
    return {
        "imports_s": imported - START,
        "open_s": opened - imported,
        "load_s": loaded - opened,
        "first_question_s": answered - loaded,
        "total_s": answered - START,
        "top20": common.summary_ms(top_s),
        "rankings": rankings,
        "chunks": len(kb.live_ids()),
    }


def _old_open(kb: Any) -> Any:
    """The former ``Retriever.refresh`` on a cold process: every live chunk's text fetched, then BM25 built."""
    from advisor.retrieval.lexical import BM25Index
    from advisor.retrieval.lexical_index import index_text

    live = sorted(kb.manifest.live_chunk_ids())
    texts = kb.collection.fetch(live)
    ids = [c for c in live if c in texts]
    return BM25Index(ids, [index_text(str(texts[c][1].get("section", "")), texts[c][0]) for c in ids])


def _old_search(kb: Any, embedder: Any, bm25: Any, question: str) -> list[str]:
    """The former search: the same dense query and fusion, lexical from the in-memory BM25, texts in memory."""
    from advisor.retrieval.retriever import CANDIDATES, RRF_K

    dense = kb.query(embedder.embed([question])[0].tolist(), CANDIDATES)
    fused: dict[str, float] = {}
    for ranking in (dense, bm25.top(question, CANDIDATES)):
        for rank, (cid, _) in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda cid: -fused[cid])[:5]


def _questions() -> list[str]:
    labelled, _ = common.labelled_questions(("direct",))
    return common.spread([q.question for q in labelled], N_QUESTIONS)


def _in_subprocess(mode: str, data_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", mode, str(data_dir)], capture_output=True, text=True, timeout=3600
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {mode} failed: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- the running reader and another process's changes ----------------------------------------------------------
def _after_changes(data_dir: Path, work: Path) -> list[dict[str, Any]]:
    """This process is the reader; ``advisor kb`` in a subprocess makes each change."""
    from advisor.kb.store import KnowledgeBase
    from advisor.providers.embeddings import LocalEmbedder
    from advisor.retrieval.retriever import Retriever

    settings = common.settings_for(data_dir)
    embedder = LocalEmbedder()
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    reader = Retriever(kb, embedder, settings)
    questions = _questions()
    for question in questions[:3]:
        reader.search(question)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")},
        "ADVISOR_DATA_DIR": str(data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(common.ARTICLE.parent),
        "ADVISOR_PROVIDER": "local",
    }
    folder = work / "changed"
    folder.mkdir(parents=True, exist_ok=True)
    original = common.ARTICLE.read_text(encoding="utf-8")
    edited = original.replace("Bet on building skill, not on the title.", "Bet on building skill, not the title.")
    fresh = original[: original.index(common.article_body())] + common.Corpus(seed=99).document(
        "AI Engineer vs Machine Learning Engineer vs Data Scientist (2026)", 4, 3
    )
    synthetic = sorted(d for d in kb.manifest.documents if d.startswith("synthetic-"))[-1]
    changes = [
        ("edit one paragraph of the article", ["add", str(folder / common.ARTICLE.name)], edited),
        ("replace the article with all-new text", ["add", str(folder / common.ARTICLE.name)], fresh),
        (f"remove a document ({len(kb.manifest.documents[synthetic].chunk_ids):,} chunks)", ["remove", synthetic], ""),
    ]
    steps = []
    for number, (label, command, text) in enumerate(changes):
        asked = questions[3 + number * (ORDINARY + 1) :][: ORDINARY + 1]
        ordinary = [common.timed(lambda q=q: reader.search(q))[0] for q in asked[:ORDINARY]]
        if text:
            (folder / common.ARTICLE.name).write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "advisor.cli", "kb", *command], env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"advisor kb {command[0]} failed: {done.stderr[-2000:]}")
        manifest_s, _ = common.timed(kb.reload_manifest)  # the change seen; an embedded Chroma client reopened
        lexical_s, _ = common.timed(reader.refresh)  # the diff applied to this process's postings
        search_s, _ = common.timed(lambda q=asked[ORDINARY]: reader.search(q))
        steps.append(
            {
                "label": label,
                "ordinary_s": common.percentile(ordinary, 50),
                "first_s": manifest_s + lexical_s + search_s,
                "manifest_s": manifest_s,
                "lexical_s": lexical_s,
                "search_s": search_s,
                "current": reader.lexical.current,
            }
        )
    return steps


def _bytes(path: Path) -> int:
    """A folder's files, or a file with its SQLite companions (``-wal``, ``-shm``), in bytes."""
    files = path.rglob("*") if path.is_dir() else path.parent.glob(path.name + "*")
    return sum(p.stat().st_size for p in files if p.is_file())


def _build_once(data_dir: Path) -> dict[str, float]:
    """The one-off build for a store without an index: what the upgrade or a new server-mode instance pays."""
    from advisor.kb.store import KnowledgeBase
    from advisor.retrieval.lexical_index import index_path

    settings = common.settings_for(data_dir)
    path = index_path(settings)
    for extra in path.parent.glob(path.name + "*"):
        extra.unlink()
    embedder = common.RandomVectors()
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    seconds, _ = common.timed(kb.lexical.refresh)
    return {"seconds": seconds, "chunks": len(kb.live_ids())}


def _agreement(new: list[list[Any]], old: list[list[Any]]) -> dict[str, float]:
    """How many questions got the same top-20 (ids, and scores within float32 noise) from both, and the worst gap."""
    same, worst = 0, 0.0
    for mine, theirs in zip(new, old, strict=True):
        gaps = [abs(a[1] - b[1]) for a, b in zip(mine, theirs, strict=False)]
        worst = max([worst, *gaps])
        same += len(mine) == len(theirs) and {tuple(x[:1]) for x in mine} == {tuple(x[:1]) for x in theirs}
    return {"same": same, "questions": len(new), "worst_score_gap": worst}


# -- the section ---------------------------------------------------------------------------------------------------
def run(sizes: tuple[int, ...] = (10_000, 100_000), build_once: bool = True) -> common.Section:
    import bench_query

    from advisor.retrieval.lexical_index import index_path

    section = common.Section("lexical", "8. The persisted lexical index", load_before=common.load())
    started = time.perf_counter()
    results = []
    for size in sizes:
        data_dir, _ = bench_query.prepare_store(size)
        _in_subprocess("new", data_dir)  # builds the index once if the cached store has none yet
        old = _in_subprocess("old", data_dir)
        new = _in_subprocess("new", data_dir)
        answer = _in_subprocess("answer", data_dir)
        settings = common.settings_for(data_dir)
        result: dict[str, Any] = {
            "chunks": new["chunks"],
            "old": {k: v for k, v in old.items() if k != "rankings"},
            "new": {k: v for k, v in new.items() if k != "rankings"},
            "answer": answer,
            "agreement": _agreement(new["rankings"], old["rankings"]),
            "index_mb": _bytes(index_path(settings)) / 1e6,
            "chroma_mb": _bytes(settings.store_dir) / 1e6,
        }
        with tempfile.TemporaryDirectory(prefix="bench-lexical-") as tmp:
            copy = Path(tmp) / "data"
            shutil.copytree(data_dir, copy)
            result["changes"] = _after_changes(copy, Path(tmp))
            if build_once:
                result["build"] = _build_once(copy)
        results.append(result)
    section.data = {"sizes": results}
    section.rows, section.body = _render(results)
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


def _render(results: list[dict[str, Any]]) -> tuple[list[tuple[str, str, str, str]], str]:
    big = results[-1]
    step = max(big["changes"], key=lambda s: s["first_s"] - s["ordinary_s"])
    extra = step["first_s"] - step["ordinary_s"]
    rows = [
        (
            f"cold open + first question at {big['chunks']:,} chunks (process start to answer)",
            f"{big['new']['total_s']:.1f} s",
            f"former path (fetch all, re-tokenise): {big['old']['total_s']:.1f} s",
            f"target ≤ 10 s: {common.verdict(big['new']['total_s'] <= 10)}",
        ),
        (
            f"first question after changing one document at {big['chunks']:,} chunks (running reader)",
            f"+{extra:.2f} s over an ordinary question ({step['label']})",
            f"ordinary question: {step['ordinary_s']:.2f} s",
            f"target ≤ +1 s: {common.verdict(extra <= 1)}",
        ),
        (
            f"lexical index on disk at {big['chunks']:,} chunks",
            f"{big['index_mb']:.0f} MB",
            f"Chroma: {big['chroma_mb']:.0f} MB",
            "-",
        ),
    ]
    cold = "\n".join(
        f"| {r['chunks']:,} | **{r['new']['total_s']:.2f} s** ({r['new']['imports_s']:.1f} + {r['new']['open_s']:.1f} + "
        f"{r['new']['load_s']:.2f} + {r['new']['first_question_s']:.2f}) | {r['old']['total_s']:.1f} s ({r['old']['imports_s']:.1f} + "
        f"{r['old']['open_s']:.1f} + {r['old']['load_s']:.1f} + {r['old']['first_question_s']:.2f}) | {r['answer']['total_s']:.1f} s |"
        for r in results
    )
    changes = "\n".join(
        f"| {r['chunks']:,} | {s['label']} | {s['ordinary_s']:.3f} s | **{s['first_s']:.3f} s** (+{s['first_s'] - s['ordinary_s']:.3f}) | "
        f"{s['manifest_s']:.3f} / {s['lexical_s']:.3f} / {s['search_s']:.3f} s |"
        for r in results
        for s in r["changes"]
    )
    sizes = "\n".join(
        f"| {r['chunks']:,} | {r['index_mb']:.1f} MB | {r['chroma_mb']:.0f} MB | {r['build']['seconds']:.1f} s |"
        if "build" in r
        else f"| {r['chunks']:,} | {r['index_mb']:.1f} MB | {r['chroma_mb']:.0f} MB | - |"
        for r in results
    )
    agree = "\n".join(
        f"| {r['chunks']:,} | {r['agreement']['same']} / {r['agreement']['questions']} | {r['agreement']['worst_score_gap']:.1e} | "
        f"{r['new']['top20']['p50']:.2f} / {r['new']['top20']['p95']:.2f} ms | {r['old']['top20']['p50']:.2f} / {r['old']['top20']['p95']:.2f} ms |"
        for r in results
    )
    body = f"""Cold open + first question, each in a fresh process (seconds from the process's start: imports + knowledge base
open + lexical load + first question). Ours loads the persisted index; the anchor is the former path, run the same
way in the same run: every chunk's text fetched from Chroma and re-tokenised into the in-memory BM25.

| chunks | ours (imports + open + index load + question) | anchor: former path (imports + open + fetch & tokenise + question) | ours, first full `Advisor.ask` (chat model loaded too) |
|---|---|---|---|
{cold}

The first question after a change, in a reader that was already running (this process); the change is made by
`advisor kb add` / `kb remove` in another process, whose commit applies its diff to the index file. Parts: reading
the new manifest (an embedded Chroma client is reopened) / applying the diff to the reader's postings / the search.

| chunks | change | ordinary question (p50 of {ORDINARY}) | first question after | parts |
|---|---|---|---|---|
{changes}

| chunks | lexical index on disk (SQLite + WAL) | Chroma store | one-off build for a store without an index (fetch + tokenise all) |
|---|---|---|---|
{sizes}

Agreement with the former BM25 ({N_QUESTIONS} questions, lexical top-20 from the index vs `BM25Index` over the same
chunks), and lexical top-20 time in memory:

| chunks | same top-20 chunks | largest score difference | ours p50 / p95 | former BM25 p50 / p95 |
|---|---|---|---|---|
{agree}"""
    return rows, body


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], sys.argv[3]), default=float))
    else:
        chosen = tuple(int(x) for x in sys.argv[1:]) or (10_000, 100_000)
        section = run(chosen)
        print(
            f"## {section.title}\n\n{section.body}\n\n_Load (1/5/15 min) before: {section.load_before}; "
            f"after: {section.load_after}; took {section.seconds:.0f} s._"
        )
