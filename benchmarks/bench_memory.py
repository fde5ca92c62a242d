"""(5) Memory: peak RSS of the app process with the embedded models loaded, and of an ingest of 10k chunks.

Each figure comes from its own fresh subprocess (peak RSS = ``VmHWM`` from /proc/self/status), so
nothing measured earlier inflates it:
- ``baseline`` (anchor): Python with the advisor, chromadb, onnxruntime and llama_cpp imported, no model loaded;
- ``app``: ``Advisor.warm_up()`` (embedding model, chat model, knowledge base, BM25) and one answer;
- ``ingest``: ``sync_folder`` of a knowledge folder of ~10k chunks (the article plus synthetic documents)
  into a fresh store. The real embedding model is loaded and embeds the article and one full batch of
  32 x 256 word pieces (its largest working set); the synthetic chunks get random vectors
  (``common.RandomVectors``), since embedding 10k chunks for real takes tens of minutes on 2 shared cores
  (see section 1 for that rate). Chunking, Chroma writes, the manifest: all real.
Run alone: ``python benchmarks/bench_memory.py``.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def peak_rss_mb() -> float:
    """This process's peak resident set, MB.

    VmHWM, not ``getrusage().ru_maxrss``: on Linux a child's ru_maxrss keeps the high-water mark of the
    parent it was forked from, so every worker would report at least the benchmark runner's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: KiB on Linux, bytes on macOS


def write_folder(folder: Path, target_chunks: int, seed: int = 5) -> int:
    """The article plus synthetic Markdown documents until the folder chunks to ``target_chunks``."""
    from advisor.kb.chunking import chunk_document

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(common.ARTICLE, folder / common.ARTICLE.name)
    total = len(chunk_document("article", common.article_body()))
    corpus = common.Corpus(seed=seed)
    number = 0
    while total < target_chunks:
        text = corpus.document(f"Synthetic career notes {number}", sections=8, paragraphs=10)
        n = len(chunk_document(f"synthetic-{number:04d}", text))
        if total + n > target_chunks and total > 0.95 * target_chunks:
            break
        (folder / f"synthetic-{number:04d}.md").write_text(text, encoding="utf-8")
        total += n
        number += 1
    return total


# -- workers (run in their own process) --------------------------------------------------------------------
def worker_baseline() -> dict:
    import chromadb  # noqa: F401
    import llama_cpp  # noqa: F401
    import onnxruntime  # noqa: F401

    import advisor.core  # noqa: F401

    return {"peak_rss_mb": peak_rss_mb()}


def worker_app(data_dir: str) -> dict:
    from advisor.core import Advisor

    advisor = Advisor(common.settings_for(Path(data_dir)))
    warm_s, _ = common.timed(advisor.warm_up)
    after_warm = peak_rss_mb()
    answer_s, _ = common.timed(lambda: advisor.ask("Which role pays the most?"))
    return {"peak_rss_mb": peak_rss_mb(), "after_warm_up_mb": after_warm, "warm_up_s": warm_s, "answer_s": answer_s}


def worker_ingest(folder: str, data_dir: str, widest_batch: str = "32") -> dict:
    import numpy as np

    from advisor.kb import ingest
    from advisor.kb.store import KnowledgeBase
    from advisor.providers.embeddings import LocalEmbedder

    real = LocalEmbedder()
    if int(widest_batch):  # one full batch at the 256-piece limit: the model's largest working set
        real.embed(["word " * 300] * int(widest_batch))
    after_model = peak_rss_mb()
    settings = common.settings_for(Path(data_dir), Path(folder))

    class ArticleRealRestRandom:
        """Real vectors for the article's chunks, random ones for the synthetic chunks."""

        name, dimension = real.name, real.dimension
        random = common.RandomVectors()
        real_texts = 0

        def embed(self, texts):  # type: ignore[no-untyped-def]
            if texts and texts[0].startswith("AI Engineer vs"):
                self.real_texts += len(texts)
                return real.embed(texts)
            return self.random.embed(texts)

    embedder = ArticleRealRestRandom()
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    seconds, report = common.timed(lambda: ingest.sync_folder(kb, embedder, Path(folder)))
    chunks = len(kb.manifest.live_chunk_ids())
    return {
        "peak_rss_mb": peak_rss_mb(),
        "after_model_mb": after_model,
        "seconds": seconds,
        "chunks": chunks,
        "documents": len(kb.manifest.documents),
        "real_embedded": embedder.real_texts,
        "errors": report.errors,
        "vector_check": float(np.linalg.norm(embedder.random.embed(["x"])[0])),
    }


def in_subprocess(kind: str, *args: str) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_memory as b; "
        "print('RESULT ' + json.dumps(getattr(b, 'worker_' + sys.argv[2])(*sys.argv[3:])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(common.BENCH_DIR), kind, *args], capture_output=True, text=True, check=False
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"memory worker {kind} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def run(workdir: Path | None = None, target_chunks: int = 10_000) -> common.Section:
    """Measures, and leaves the 10k-chunk store and its folder in ``workdir`` for the update benchmark."""
    section = common.Section("memory", "5. Memory (peak RSS)", load_before=common.load())
    started = time.perf_counter()
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="bench-memory-")) if workdir is None else workdir
    try:
        folder_chunks = write_folder(work / "knowledge", target_chunks)
        baseline = in_subprocess("baseline")
        app = in_subprocess("app", str(work / "app-data"))
        ingested = in_subprocess("ingest", str(work / "knowledge"), str(work / "data"))
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    section.data = {"baseline": baseline, "app": app, "ingest": ingested, "folder_chunks": folder_chunks}
    section.rows = [
        (
            "peak RSS, app (models loaded + one answer)",
            f"{app['peak_rss_mb']:.0f} MB",
            f"bare imports: {baseline['peak_rss_mb']:.0f} MB",
            "-",
        ),
        (
            f"peak RSS, ingest of {ingested['chunks']:,} chunks",
            f"{ingested['peak_rss_mb']:.0f} MB ({ingested['seconds']:.0f} s)",
            f"bare imports: {baseline['peak_rss_mb']:.0f} MB",
            "-",
        ),
    ]
    section.body = f"""Each process is fresh; peak RSS is its `VmHWM` (Linux high-water mark of resident memory).

| process | peak RSS | notes |
|---|---|---|
| anchor: Python + advisor, chromadb, onnxruntime, llama_cpp imported, no model | {baseline["peak_rss_mb"]:.0f} MB | - |
| app: `Advisor.warm_up()` + one answer | **{app["peak_rss_mb"]:.0f} MB** | {app["after_warm_up_mb"]:.0f} MB after warm-up ({app["warm_up_s"]:.1f} s, building the article KB), answer {app["answer_s"]:.1f} s |
| ingest: `sync_folder` of {ingested["documents"]} documents, {ingested["chunks"]:,} chunks | **{ingested["peak_rss_mb"]:.0f} MB** | {ingested["after_model_mb"]:.0f} MB before the ingest began (model + its widest batch); {ingested["seconds"]:.0f} s wall; the real model embedded the article's {ingested["real_embedded"]} chunks and one 32 x 256 batch, the other chunks got random vectors |

The ingest's time is chunking, Chroma writes and manifest commits only (random vectors for the synthetic
chunks); real embedding adds the chunks divided by the rate in section 1."""
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


if __name__ == "__main__":
    print(run(target_chunks=int(sys.argv[1]) if len(sys.argv) > 1 else 10_000).body)
