"""(1) Ingestion throughput: our embedding path vs Chroma's default embedding function, same ONNX model.

- ours: ``advisor.providers.embeddings.LocalEmbedder`` (texts sorted by length, each batch padded to its own longest).
- anchor: chromadb's ``ONNXMiniLM_L6_V2._forward`` itself (every text padded to 256 word pieces, fixed
  batches of 32), pointed at the same model.onnx and tokenizer.json through symlinks, so no download.
- ceiling: the bare ONNX session on all-real-token inputs (no padding at all) over a few batch shapes.

Texts are the article's chunks exactly as ingest embeds them ("title. section.\\n text"), repeated.
The two paths run interleaved, round by round, so load from other processes hits both alike.
tokens/s counts real word pieces (not padding) for both. Run alone: ``python benchmarks/bench_embed.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def article_texts() -> list[str]:
    from advisor.kb.chunking import chunk_document

    doc = common.article_document()
    return [f"{doc.title}. {c.section}.\n{c.text}" for c in chunk_document(doc.doc_id, doc.text)]


def chroma_default(folder: Path):  # type: ignore[no-untyped-def]
    """Chroma's default embedding function, reading our model files instead of downloading its own."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    from advisor.providers.embeddings import local_model_files

    onnx, tokenizer = local_model_files()
    target = folder / "onnx"
    target.mkdir(parents=True, exist_ok=True)
    (target / "model.onnx").symlink_to(onnx)
    (target / "tokenizer.json").symlink_to(tokenizer)

    class Anchor(ONNXMiniLM_L6_V2):
        DOWNLOAD_PATH = folder
        EXTRACTED_FOLDER_NAME = "onnx"

    return Anchor(preferred_providers=["CPUExecutionProvider"])


def ceiling(session, shapes: list[tuple[int, int]], min_tokens: int) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    """tokens/s of the bare session on inputs with no padding (every position a real token)."""
    names = {i.name for i in session.get_inputs()}
    out = []
    for batch, length in shapes:
        ids = np.full((batch, length), 2023, dtype=np.int64)
        ids[:, 0], ids[:, -1] = 101, 102
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        session.run(None, feeds)  # warm this shape
        reps = max(1, min_tokens // (batch * length))
        start = time.perf_counter()
        for _ in range(reps):
            session.run(None, feeds)
        seconds = time.perf_counter() - start
        out.append({"batch": batch, "length": length, "tokens_per_s": reps * batch * length / seconds})
    return out


def run(
    copies: int = 4,
    limit: int | None = None,
    rounds: int = 3,
    shapes: list[tuple[int, int]] | None = None,
    min_tokens: int = 4096,
) -> common.Section:
    from advisor.providers.embeddings import LocalEmbedder

    section = common.Section("embed", "1. Ingestion throughput (embedding)", load_before=common.load())
    started = time.perf_counter()
    base = article_texts()[:limit]
    texts = base * copies
    ours = LocalEmbedder()
    tokens = sum(ours.count_tokens(t) for t in texts)
    with tempfile.TemporaryDirectory(prefix="bench-anchor-") as tmp:
        anchor = chroma_default(Path(tmp))
        ours.embed(texts[:8])  # load and warm both sessions outside the timing
        anchor._forward(texts[:8])
        ours_s: list[float] = []
        anchor_s: list[float] = []
        small_s: list[float] = []
        ours_cpu: list[float] = []
        anchor_cpu: list[float] = []
        small_cpu: list[float] = []
        default_batch = ours.batch_size
        for _ in range(rounds):
            cpu = time.process_time()
            t, ours_vectors = common.timed(lambda: ours.embed(texts))
            ours_s.append(t)
            ours_cpu.append(time.process_time() - cpu)
            cpu = time.process_time()
            t, anchor_vectors = common.timed(lambda: anchor._forward(texts))
            anchor_s.append(t)
            anchor_cpu.append(time.process_time() - cpu)
            ours.batch_size = 32  # a variant, the former default: more padding inside each sorted batch
            cpu = time.process_time()
            t, _ = common.timed(lambda: ours.embed(texts))
            small_s.append(t)
            small_cpu.append(time.process_time() - cpu)
            ours.batch_size = default_batch
        agreement = float(np.min(np.sum(ours_vectors * anchor_vectors, axis=1)))
    shapes = shapes or [(1, 128), (8, 64), (32, 64), (8, 128), (8, 256)]
    # Two passes over the shapes, best of each: the ceiling is a best case, and the machine is shared.
    passes = [ceiling(ours._session, shapes, min_tokens) for _ in range(2 if rounds > 1 else 1)]
    ceil = [max(group, key=lambda c: c["tokens_per_s"]) for group in zip(*passes, strict=True)]
    best = max(ceil, key=lambda c: c["tokens_per_s"])

    ours_t, anchor_t = float(np.median(ours_s)), float(np.median(anchor_s))
    speedup = anchor_t / ours_t
    cpu_speedup = float(np.median(anchor_cpu) / np.median(ours_cpu))
    lengths = [ours.count_tokens(t) for t in base]
    section.data = {
        "texts": len(texts),
        "tokens": tokens,
        "ours_s": ours_s,
        "anchor_s": anchor_s,
        "ours_chunks_per_s": len(texts) / ours_t,
        "ours_tokens_per_s": tokens / ours_t,
        "anchor_chunks_per_s": len(texts) / anchor_t,
        "anchor_tokens_per_s": tokens / anchor_t,
        "speedup": speedup,
        "cpu_speedup": cpu_speedup,
        "ours_cpu_s": ours_cpu,
        "batch8_s": small_s,
        "batch8_cpu_s": small_cpu,
        "batch8_speedup": float(np.median(anchor_s) / np.median(small_s)),
        "batch8_cpu_speedup": float(np.median(anchor_cpu) / np.median(small_cpu)),
        "anchor_cpu_s": anchor_cpu,
        "min_cosine_ours_vs_anchor": agreement,
        "ceiling": ceil,
    }
    d = section.data
    section.rows = [
        (
            "embedding throughput, article chunks",
            f"{d['ours_chunks_per_s']:.1f} chunks/s, {d['ours_tokens_per_s']:,.0f} tokens/s",
            f"Chroma default: {d['anchor_chunks_per_s']:.1f} chunks/s, {d['anchor_tokens_per_s']:,.0f} tokens/s",
            f"{speedup:.1f}x (target ≥ 4x): {common.verdict(speedup >= 4)}",
        ),
        (
            "bare ONNX ceiling",
            f"{best['tokens_per_s']:,.0f} tokens/s at batch {best['batch']} x {best['length']}",
            f"ours reaches {d['ours_tokens_per_s'] / best['tokens_per_s']:.0%} of it",
            "-",
        ),
    ]
    rows = "\n".join(f"| {c['batch']} x {c['length']} | {c['tokens_per_s']:,.0f} |" for c in ceil)
    section.body = f"""{len(texts)} texts: the article's {len(base)} chunks as ingest embeds them, x{copies}; {tokens:,} real word
pieces (lengths {min(lengths)}-{max(lengths)}, median {int(np.median(lengths))}). {rounds} rounds, ours and the
anchor alternating; the figure is each one's median round.

| | ours (sorted, dynamic padding, batch {default_batch}) | anchor: Chroma `ONNXMiniLM_L6_V2._forward` (pad to 256, batch 32) | variant: ours with batch 32 (the former default) |
|---|---|---|---|
| seconds per round | {", ".join(f"{s:.2f}" for s in ours_s)} | {", ".join(f"{s:.2f}" for s in anchor_s)} | {", ".join(f"{s:.2f}" for s in small_s)} |
| CPU seconds per round (both cores) | {", ".join(f"{s:.2f}" for s in ours_cpu)} | {", ".join(f"{s:.2f}" for s in anchor_cpu)} | {", ".join(f"{s:.2f}" for s in small_cpu)} |
| chunks/s | **{d["ours_chunks_per_s"]:.1f}** | {d["anchor_chunks_per_s"]:.1f} | {len(texts) / float(np.median(small_s)):.1f} |
| tokens/s (real word pieces) | **{d["ours_tokens_per_s"]:,.0f}** | {d["anchor_tokens_per_s"]:,.0f} | {tokens / float(np.median(small_s)):,.0f} |
| speed-up over the anchor (wall / CPU) | **{speedup:.1f}x / {cpu_speedup:.1f}x** | 1x | {d["batch8_speedup"]:.1f}x / {d["batch8_cpu_speedup"]:.1f}x |

Speed-up: **{speedup:.1f}x** in wall time, {cpu_speedup:.1f}x in CPU time (target ≥ 4x). Both produce the same vectors: the lowest cosine between ours and the
anchor's vector for the same text is {agreement:.4f}.

Ceiling: the bare ONNX session on inputs with no padding at all (tokens/s by batch x sequence length, best of
{len(passes)} passes):

| shape | tokens/s |
|---|---|
{rows}

Our path runs at {d["ours_tokens_per_s"] / best["tokens_per_s"]:.0%} of the best shape. What is left is the attention cost of
the longer chunks, the padding inside each sorted batch, tokenisation and pooling."""
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


if __name__ == "__main__":
    result = run()
    print(result.body)
