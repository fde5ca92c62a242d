"""(9) Ingest at scale: throughput outside the embedding model, and peak memory, at 1k, 10k and 100k chunks.

Each run is ``ingest.sync_folder`` of a :mod:`scale_corpus` folder into an empty store, in a fresh process
(peak RSS = its ``VmHWM``), with precomputed vectors (:class:`scale_corpus.ScaleVectors`: cached real vectors,
random ones for the synthetic chunks), so what is timed is everything but the model: reading and chunking
files, Chroma's writes (its HNSW insertions included), manifest commits and the lexical index that follows them.
"Overhead outside embedding" is the run's wall time minus the time spent inside ``embed``.

- ours: the advisor as it is (streaming ``Batch``: writes of up to 5,000 chunks across documents, a commit every
  15 s);
- anchor, today's path: the same call in the advisor at commit ``ANCHOR`` (exported with ``git archive`` into a
  temp dir and run from there): upserts of 64, one manifest commit per document;
- floor: Chroma alone, writing the same number of chunks (article-like text, seven metadata keys, random
  vectors) by the call ours writes with (``FLOOR_AS_OURS``), as many at a time as ours writes
  (``collection.LOCAL_BATCH``), into a fresh collection with the advisor's settings. No ingest can beat it.

Where the time goes is measured by timing wrappers around the named functions inside the worker. Run alone:
``python benchmarks/bench_ingest.py [sizes...] [--write]`` (``--write`` puts the section into RESULTS.md).
``python benchmarks/bench_ingest.py --floor [sizes...] [--variants=upsert,add]`` prints Chroma alone only, in
the variants of :data:`FLOOR_VARIANTS` (all by default: upserts as ours writes them, adds, without the text, ids
and vectors only): the fastest any ingest into Chroma with these collection settings could write here. Sizes
run in the order given, so ``20000 20000`` interleaves the variants. It writes nothing into RESULTS.md.
``python benchmarks/bench_ingest.py --against=COMMIT [size]`` runs ours and the advisor at ``COMMIT`` in turn, twice,
into temp dirs and prints their rates: a change to the ingest against the code before it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import scale_corpus

ANCHOR = "b9c9757"  # the last commit before the streaming ingest: the lexical index in, the ingest as it was


def anchor_tree(commit: str = ANCHOR) -> Path:
    """The advisor package at ``commit``, exported once under benchmarks/.cache."""
    target = scale_corpus.distractors.CACHE / f"advisor-{commit}"
    if not (target / "advisor" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(common.ROOT), "archive", commit, "advisor"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# What a store's content depends on: a store of ours is rebuilt when one of these changed since it was built.
STORE_CODE = (
    "advisor/kb",
    "advisor/retrieval/lexical.py",
    "advisor/retrieval/lexical_index.py",
    "advisor/retrieval/postings.py",
)


def store_code_version() -> str:
    """The last commit that changed the code a store is built with, marked when that code has local changes."""
    git = ["git", "-C", str(common.ROOT)]
    last = subprocess.run([*git, "log", "-1", "--format=%h", "--", *STORE_CODE], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", *STORE_CODE], capture_output=True, text=True)
    return last.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def store(
    size: int, anchor: bool, fresh: bool = False, synthetic: bool = True, article_only: bool = False
) -> tuple[Path, dict]:
    """A data dir holding the ``size`` folder ingested by ours (this checkout) or today's path, and its build
    record (the ingest's measurements). Kept under benchmarks/.cache/stores and reused while the code is the
    same, unless ``fresh``."""
    commit = ANCHOR if anchor else store_code_version()
    target = (
        scale_corpus.distractors.CACHE
        / "stores"
        / f"{'anchor' if anchor else 'ours'}-{size}{'' if synthetic else '-real'}{'-article' if article_only else ''}"
    )
    record_file = target / "build.json"
    if not fresh and record_file.exists() and not commit.endswith("+dirty"):
        record = json.loads(record_file.read_text())
        if record.get("commit") == commit:
            return target / "data", record
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    folder = scale_corpus.folder(size, synthetic, article_only)
    record = in_subprocess("ingest", str(folder), str(target / "data"), code_root=anchor_tree() if anchor else None)
    record["commit"] = commit
    record["load"] = common.load()
    record_file.write_text(json.dumps(record))
    return target / "data", record


def _timed(owner: object, name: str, totals: dict[str, float], key: str) -> None:
    """Wrap ``owner.name`` so the seconds spent in it (outermost calls only) add up in ``totals[key]``."""
    inner = getattr(owner, name)
    depth = [0]

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        depth[0] += 1
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                totals[key] = totals.get(key, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def _hnsw_mb(data_dir: Path) -> float:
    """Size of the Chroma collections' HNSW files (the index an embedded store keeps in memory)."""
    files = [p for p in (data_dir / "chroma").rglob("*.bin") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def worker_ingest(folder: str, data_dir: str) -> dict:
    """Run in a fresh process (with the anchor's tree first on sys.path for the anchor)."""
    import bench_memory

    from advisor.kb import collection, ingest, store
    from advisor.retrieval import lexical_index

    totals: dict[str, float] = {}
    embedder = scale_corpus.ScaleVectors()  # a cold cache embeds for real: that time counts as embedding, not overhead
    _timed(embedder, "embed", totals, "embed")
    _timed(ingest, "load_path", totals, "read")
    for module in (ingest, sys.modules.get("advisor.kb.batch")):  # where chunking is called from: either version
        if module is not None and hasattr(module, "chunk_document"):
            _timed(module, "chunk_document", totals, "chunk")
    _timed(collection.ChunkCollection, "upsert", totals, "chroma_write")
    _timed(store.KnowledgeBase, "save_manifest", totals, "commit")
    _timed(lexical_index.LexicalIndex, "sync_file", totals, "lexical")
    settings = common.settings_for(Path(data_dir), Path(folder))
    kb = store.KnowledgeBase(settings, embedder.name, embedder.dimension)
    before = bench_memory.peak_rss_mb()
    seconds, report = common.timed(lambda: ingest.sync_folder(kb, embedder, Path(folder)))
    embedder.save()
    return {
        "chunks": len(kb.manifest.live_chunk_ids()),
        "documents": len(kb.manifest.documents),
        "errors": report.errors[:3],
        "seconds": seconds,
        "parts": totals,
        "peak_rss_mb": bench_memory.peak_rss_mb(),
        "rss_before_mb": before,
        "hnsw_mb": _hnsw_mb(Path(data_dir)),
        "generation": kb.manifest.generation,
        "code": str(Path(ingest.__file__).resolve().parents[2]),
        "embedded_for_real": embedder.misses,
    }


# Chroma alone, from what ours writes down to the least a write can carry: (label, call, what each chunk brings).
FLOOR_VARIANTS = {
    "upsert": ("upserts, text + 7 metadata keys", "upsert", "full"),
    "add": ("adds, text + 7 metadata keys", "add", "full"),
    "add-no-text": ("adds, 7 metadata keys, no text", "add", "metadata"),
    "add-bare": ("adds, ids + vectors only", "add", "bare"),
}


# The floor variant that writes as ours does. Adding the chunks a write finds missing was measured no faster for
# ours (``--against``, 50k chunks: RESULTS.md section 9), so ours upserts.
FLOOR_AS_OURS = "upsert"


def worker_floor(chunks: str, data_dir: str, variant: str = "upsert") -> dict:
    """Chroma alone: the same number of chunks written as many at a time as ours writes, into a fresh collection
    with the same settings, by the call and with the content ``variant`` names (:data:`FLOOR_VARIANTS`)."""
    import bench_memory

    from advisor.kb.collection import collection_configuration, make_client

    try:
        from advisor.kb.collection import LOCAL_BATCH as batch
    except ImportError:  # before embedded writes were larger
        batch = 1000

    _, call, content = FLOOR_VARIANTS[variant]
    n = int(chunks)
    client = make_client(common.settings_for(Path(data_dir)))
    col = client.create_collection("floor", configuration=collection_configuration(), embedding_function=None)
    write = getattr(col, call)
    texts = common.Corpus(seed=3).chunks(2000)
    vectors = common.random_unit_vectors(n, 384, seed=3)
    started = time.perf_counter()
    for start in range(0, n, batch):
        ids = [f"floor-doc:{i:016x}" for i in range(start, min(start + batch, n))]
        extra: dict = {}
        if content != "bare":
            extra["metadatas"] = [
                {
                    "doc_id": "floor-doc",
                    "title": "Floor",
                    "section": "Part",
                    "index": i,
                    "source": "/x.md",
                    "doc_hash": "h" * 64,
                    "written": 1,
                }
                for i in range(start, start + len(ids))
            ]
        if content == "full":
            extra["documents"] = [texts[i % 2000] for i in range(start, start + len(ids))]
        write(ids=ids, embeddings=vectors[start : start + len(ids)], **extra)
    seconds = time.perf_counter() - started
    return {
        "chunks": n,
        "seconds": seconds,
        "peak_rss_mb": bench_memory.peak_rss_mb(),
        "batch": batch,
        "variant": variant,
        "count": col.count(),
    }


def floors(sizes: tuple[int, ...], variants: tuple[str, ...] = tuple(FLOOR_VARIANTS)) -> list[dict]:
    """Every floor variant at every size, each in a fresh process and a fresh data dir, with the load after it."""
    runs = []
    for size in sizes:
        for variant in variants:
            with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
                result = in_subprocess("floor", str(size), str(Path(tmp) / "floor"), variant)
            result["load"] = common.load()
            print(f"floor {size} {variant}: {json.dumps(result)}", flush=True)
            runs.append(result)
    return runs


def render_floors(runs: list[dict]) -> str:
    lines = [
        f"| {r['chunks']:,} | {FLOOR_VARIANTS[r['variant']][0]} | {r['batch']:,} | {r['seconds']:.0f} s | "
        f"**{r['chunks'] / r['seconds']:,.0f}** | {r['peak_rss_mb']:.0f} MB | {r['load']} |"
        for r in runs
    ]
    return _table(["chunks", "Chroma alone, writes of", "chunks a call", "wall", "chunks/s", "peak RSS", LOAD], lines)


def in_subprocess(kind: str, *args: str, code_root: Path | None = None) -> dict:
    """Run ``worker_<kind>(*args)`` in a fresh interpreter; ``code_root`` puts another advisor tree first."""
    roots = [str(code_root)] if code_root else []
    code = (
        "import json, sys; roots = json.loads(sys.argv[1]); sys.path[:0] = roots; import bench_ingest as b; "
        "sys.path[:0] = roots; "  # again: common.py puts the checkout first when imported
        "print('RESULT ' + json.dumps(getattr(b, 'worker_' + sys.argv[2])(*sys.argv[3:])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps([*roots, str(common.BENCH_DIR)]), kind, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"ingest worker {kind} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT ") :]))


def compare(size: int, commit: str, rounds: int = 2) -> list[dict]:
    """Ours (this checkout) and the advisor at ``commit``, each ingesting the ``size`` folder into a temp dir in a
    fresh process, alternating for ``rounds`` rounds: a change to the ingest measured against the code before
    it under the same load. The cached stores are left alone."""
    folder = scale_corpus.folder(size)
    tree = anchor_tree(commit)
    runs = []
    for _ in range(rounds):
        for name, root in (("ours", None), (commit, tree)):
            with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
                result = in_subprocess("ingest", str(folder), str(Path(tmp) / "data"), code_root=root)
            result["path"], result["load"] = name, common.load()
            print(f"ingest {size} {name}: {json.dumps(result)}", flush=True)
            runs.append(result)
    return runs


def render_compare(runs: list[dict]) -> str:
    lines = [
        f"| {r['chunks']:,} | {r['path']} | {r['seconds']:.0f} s | **{overhead_rate(r):,.0f}** | "
        f"{r['parts'].get('chroma_write', 0.0):.0f} s | {r['peak_rss_mb']:.0f} MB | {r['load']} |"
        for r in runs
    ]
    return _table(["chunks", "code", "wall", "overhead, chunks/s", "Chroma writes", "peak RSS", LOAD], lines)


LOAD = "load (1/5/15) after"


def _table(header: list[str], rows: list[str]) -> str:
    """A Markdown table of ``rows`` (each already "| ... |") under ``header``."""
    return f"| {' | '.join(header)} |\n|{'---|' * len(header)}\n" + "\n".join(rows)


def overhead_rate(run: dict) -> float:
    outside = run["seconds"] - run["parts"].get("embed", 0.0)
    return run["chunks"] / outside if outside > 0 else float("nan")


def run(sizes: tuple[int, ...] = (1_000, 10_000, 100_000), anchor: bool = True) -> common.Section:
    section = common.Section("ingest", "9. Ingest at scale (issue 13)", load_before=common.load())
    started = time.perf_counter()
    tree = anchor_tree() if anchor else None
    rows = []
    for size in sizes:
        folder = scale_corpus.folder(size)
        result: dict = {"size": size, "folder_chunks": scale_corpus.expected_chunks(folder)}
        result["ours"] = store(size, anchor=False, fresh=True)[1]
        if tree is not None:
            result["anchor"] = store(size, anchor=True, fresh=True)[1]
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            result["floor"] = in_subprocess(
                "floor", str(result["ours"]["chunks"]), str(Path(tmp) / "floor"), FLOOR_AS_OURS
            )
        rows.append(result)
        print(f"ingest {size}: {json.dumps(result)}", flush=True)
    section.data = {"sizes": rows, "anchor_commit": ANCHOR}
    biggest = rows[-1]
    ours = biggest["ours"]
    section.rows = [
        (
            f"ingest overhead outside embedding at {ours['chunks']:,} chunks",
            f"{overhead_rate(ours):,.0f} chunks/s",
            (f"today's path: {overhead_rate(biggest['anchor']):,.0f} chunks/s; " if "anchor" in biggest else "")
            + f"Chroma alone: {biggest['floor']['chunks'] / biggest['floor']['seconds']:,.0f} chunks/s",
            f"target ≥ 1,000 chunks/s: {common.verdict(overhead_rate(ours) >= 1000)}",
        ),
        (
            "peak RSS of the ingest, smallest → largest store",
            " → ".join(f"{r['ours']['peak_rss_mb']:.0f}" for r in rows) + " MB",
            "today's path: " + " → ".join(f"{r['anchor']['peak_rss_mb']:.0f}" for r in rows) + " MB"
            if "anchor" in biggest
            else "-",
            "-",
        ),
    ]
    section.body = render(rows)
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


def _parts(run: dict) -> str:
    p = run["parts"]
    lexical = p.get("lexical", 0.0)
    named = p.get("read", 0.0) + p.get("chunk", 0.0) + p.get("chroma_write", 0.0) + p.get("commit", 0.0)
    other = run["seconds"] - p.get("embed", 0.0) - named
    return (
        f"read {p.get('read', 0.0):.0f} · chunk {p.get('chunk', 0.0):.0f} · Chroma writes {p.get('chroma_write', 0.0):.0f} · "
        f"commits {p.get('commit', 0.0):.0f} (lexical index {lexical:.0f}) · other {other:.0f}"
    )


def render(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        for name, key in (("**ours**", "ours"), ("today's path", "anchor")):
            if key not in r:
                continue
            x = r[key]
            lines.append(
                f"| {x['chunks']:,} | {name} | {x['seconds']:.0f} s | {x['parts'].get('embed', 0.0):.1f} s | "
                f"**{overhead_rate(x):,.0f}** | {x['generation']} | {x['rss_before_mb']:.0f} → {x['peak_rss_mb']:.0f} MB | "
                f"{x['hnsw_mb']:.0f} MB | {_parts(x)} | {x['load']} |"
            )
        f = r["floor"]
        lines.append(
            f"| {f['chunks']:,} | Chroma alone | {f['seconds']:.0f} s | - | {f['chunks'] / f['seconds']:,.0f} | - | "
            f"{f['peak_rss_mb']:.0f} MB | - | {f.get('variant', 'upsert')}s of {f.get('batch', 1000):,} only | - |"
        )
    table = "\n".join(lines)
    return f"""Command: `python benchmarks/bench_ingest.py --write`. `sync_folder` of a folder of the article, the pydoc
corpus and (past ~11k chunks) synthetic documents into an empty store, each run in a fresh process with
precomputed vectors (real cached ones; random ones for synthetic chunks). "Overhead" is chunks per second of the
wall time outside the embedding model. Today's path is the advisor at commit `{ANCHOR}` run the same way.
Seconds in the last column are wall time inside each part (the lexical index's share of the commits in brackets).

| chunks | path | wall | in `embed` | overhead, chunks/s | manifest commits | RSS before → peak | HNSW files | where the time went (s) | load (1/5/15) after |
|---|---|---|---|---|---|---|---|---|---|
{table}

{_limits(rows[-1])}

An embedded store keeps Chroma's HNSW index in the process (the "HNSW files" column is its size on disk), so part of
the peak grows with the store whatever the ingest does; the ingest's own working set is one document and one
write batch."""


def _limits(row: dict) -> str:
    """What bounds ours' rate at the largest size, from this run's own parts."""
    ours, floor = row["ours"], row["floor"]
    p = ours["parts"]
    outside = ours["seconds"] - p.get("embed", 0.0)
    chroma, lexical = p.get("chroma_write", 0.0), p.get("lexical", 0.0)
    rest = outside - chroma - lexical
    return (
        f"At {ours['chunks']:,} chunks, of ours' {outside:.0f} s outside the model, Chroma's writes took {chroma:.0f} s "
        f"({chroma / outside:.0%}), the lexical index following the commits {lexical:.0f} s ({lexical / outside:.0%}: it "
        f"tokenises each new chunk and now and then packs the postings), and everything else (reading, chunking, "
        f"batching, the manifest) {rest:.0f} s, {ours['chunks'] / rest:,.0f} chunks/s. Chroma alone, writing the "
        f"same number of chunks by {floor.get('variant', 'upsert')} {floor.get('batch', 1000):,} at a time, ran at "
        f"{floor['chunks'] / floor['seconds']:,.0f} chunks/s: its HNSW insertions and the full-text index it keeps on "
        "every document are the floor of any ingest into it."
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--floor" in sys.argv:  # Chroma alone, every variant: printed, never written into RESULTS.md
        print(f"load before: {common.load()}")
        chosen = [a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--variants=")]
        variants = tuple(chosen[-1]) if chosen else tuple(FLOOR_VARIANTS)
        print(render_floors(floors(tuple(int(a) for a in args) or (10_000,), variants)))
        sys.exit(0)
    against = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--against=")]
    if against:  # ours against the code at a commit, alternating: printed, never written into RESULTS.md
        print(f"load before: {common.load()}")
        print(render_compare(compare(int(args[0]) if args else 10_000, against[-1])))
        sys.exit(0)
    result = run(tuple(int(a) for a in args) or (1_000, 10_000, 100_000), anchor="--no-anchor" not in sys.argv)
    if "--write" in sys.argv:
        common.write_section(common.BENCH_DIR / "RESULTS.md", result)
    print(result.body)
