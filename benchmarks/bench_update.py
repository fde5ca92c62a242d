"""(6) Knowledge-base update cost, in a store of ~10k chunks (the one section 5's ingest built).

With the real embedding model (wrapped to count what it embeds):
- re-sync the unchanged knowledge folder (``sync_folder``): should embed nothing;
- replace one document after an edit to one paragraph of the article: only the changed chunk(s) re-embed;
- replace one document with all-new content of the article's size: all its chunks re-embed;
- the first question after a change: the retriever picks up the new manifest and applies its diff to the
  lexical index (section 8 measures this at 10k and 100k chunks against the former full rebuild).
Anchor: re-ingesting everything from scratch, as a pipeline without content hashes would on any change:
the embedding time of all chunks at the rate measured in section 1 plus the store writes measured in
section 5 (an estimate from two measured figures; embedding 10k chunks for real takes tens of minutes here).
Run alone: ``python benchmarks/bench_update.py`` (builds its own 10k store first).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def run(
    workdir: Path | None = None,
    embed_chunks_per_s: float | None = None,
    ingest_s: float | None = None,
    new_doc: tuple[int, int] = (4, 3),
) -> common.Section:
    """``new_doc``: (sections, paragraphs) of the all-new replacement document (4 x 3 is about the article's size)."""
    from advisor.kb import ingest
    from advisor.kb.store import KnowledgeBase
    from advisor.providers.embeddings import LocalEmbedder
    from advisor.retrieval.retriever import Retriever

    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="bench-update-")) if workdir is None else workdir
    if own:
        import bench_memory

        bench_memory.write_folder(work / "knowledge", 10_000)
        built = bench_memory.in_subprocess("ingest", str(work / "knowledge"), str(work / "data"))
        ingest_s = built["seconds"]
    section = common.Section("update", "6. Knowledge-base update cost", load_before=common.load())
    started = time.perf_counter()
    try:
        folder = work / "knowledge"
        settings = common.settings_for(work / "data", folder)
        embedder = common.CountingEmbedder(LocalEmbedder())
        kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
        retriever = Retriever(kb, embedder, settings)
        open_s, _ = common.timed(retriever.refresh)
        chunks = retriever.chunk_count
        question = "Which role pays the most?"
        steps = []

        def step(label: str, change) -> None:  # type: ignore[no-untyped-def]
            if change is not None:
                change()
            before = embedder.texts
            seconds, report = common.timed(lambda: ingest.sync_folder(kb, embedder, folder))
            embedded = embedder.texts - before
            first_q, _ = common.timed(lambda: retriever.search(question))
            again, _ = common.timed(lambda: retriever.search(question))
            changed = [f"{c.doc_id} {c.status}" for c in report.changes if c.status != "unchanged"]
            steps.append(
                {
                    "label": label,
                    "sync_s": seconds,
                    "embedded": embedded,
                    "changed": changed,
                    "first_question_s": first_q,
                    "next_question_s": again,
                }
            )

        article = folder / common.ARTICLE.name
        original = article.read_text(encoding="utf-8")
        step("re-sync, nothing changed", None)
        edited = original.replace(
            "Bet on building skill, not on the title.", "Bet on building skill, not on the title. (Edited.)"
        )
        assert edited != original
        step("replace one document: one paragraph of the article edited", lambda: article.write_text(edited, "utf-8"))
        corpus = common.Corpus(seed=99)
        body = common.article_body()
        fresh = original[: original.index(body)] + corpus.document(
            "AI Engineer vs Machine Learning Engineer vs Data Scientist (2026)", *new_doc
        )
        step("replace one document: all-new content, article-sized", lambda: article.write_text(fresh, "utf-8"))
        article.write_text(original, encoding="utf-8")
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    estimate = None
    if embed_chunks_per_s and ingest_s is not None:
        estimate = chunks / embed_chunks_per_s + ingest_s
    section.data = {"chunks": chunks, "open_s": open_s, "steps": steps, "full_rebuild_estimate_s": estimate}
    anchor = f"full re-ingest: ~{estimate / 60:.0f} min (estimate)" if estimate else "full re-ingest (not estimated)"
    unchanged, edit, replace = steps
    section.rows = [
        (
            f"re-ingest unchanged KB ({chunks:,} chunks)",
            f"{unchanged['sync_s']:.2f} s, {unchanged['embedded']} chunks embedded",
            anchor,
            "-",
        ),
        (
            "replace one document (one paragraph edited / all new)",
            f"{edit['sync_s']:.2f} s ({edit['embedded']} embedded) / {replace['sync_s']:.2f} s ({replace['embedded']} embedded)",
            anchor,
            "-",
        ),
        (
            "first question after a change (lexical index diff)",
            f"{edit['first_question_s']:.2f} s",
            f"next question: {edit['next_question_s']:.2f} s",
            "-",
        ),
    ]
    rows = "\n".join(
        f"| {s['label']} | **{s['sync_s']:.2f} s** | {s['embedded']} | {', '.join(s['changed']) or '-'} | "
        f"{s['first_question_s']:.2f} s | {s['next_question_s']:.3f} s |"
        for s in steps
    )
    estimate_text = (
        f"~{estimate:.0f} s ({chunks:,} chunks at {embed_chunks_per_s:.1f} chunks/s from section 1, plus {ingest_s:.0f} s of "
        "chunking and store writes from section 5)"
        if estimate
        else "not estimated (run through run_all.py)"
    )
    section.body = f"""A store of {chunks:,} chunks ({len(kb.manifest.documents)} documents), opened cold in {open_s:.1f} s. Each step runs
`sync_folder` on the knowledge folder with the real embedding model, then asks one question twice.

| step | sync time | chunks embedded | documents changed | first question after | next question |
|---|---|---|---|---|---|
{rows}

Anchor, re-ingesting everything: {estimate_text}.

Unchanged documents cost a file read and a hash each; an edited document re-embeds only the chunks whose text
changed (chunk IDs are content hashes). The first question after a change waits for the retriever to pick up the
new manifest and apply its diff to the lexical index: the writer has already indexed the changed chunks, so the
reader only reads their rows (section 8)."""
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


if __name__ == "__main__":
    print(run().body)
