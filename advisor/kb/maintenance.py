"""Knowledge-base maintenance: verify that manifest, Chroma and the lexical index agree; repair; rebuild.

- :func:`verify` lists every disagreement (missing or stray chunks, a chunk filed under the wrong
  document, a vector of the wrong size, an index that doesn't find a stored vector, a chunk BM25 can't
  index, a lexical index that misses, strays from or mis-tokenises a chunk, a copy of the vectors there that
  misses, strays from or differs from Chroma's, a leftover collection). It
  changes nothing but the lexical index, which it first brings up to date as any reader would (a damaged
  one is rebuilt then, and said so). ``repair=True`` takes the writer lock, fixes what
  :func:`advisor.kb.ingest.repair` can, rebuilds the lexical index if it disagreed, and verifies again.
- :func:`rebuild` re-embeds every live chunk with the configured embedding model into a new
  collection, checks it, switches the manifest to it, drops the old one, then rebuilds the lexical
  index from the same texts. Until the switch, readers keep using the old collection; after it, they
  follow the manifest (a running app reloads it when its generation changes). A crash anywhere leaves
  the old collection live and a leftover that the next write drops; the lexical index is rebuilt in
  one transaction, so a crash leaves it as it was (following the manifest by its diff).

It deliberately re-embeds the stored chunk texts rather than re-reading source files: uploads have no
file to re-read, and a changed source is ``kb update``'s business, not a rebuild's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.kb.batch import EMBED_BATCH, WRITE_BATCH, embed_text
from advisor.kb.ingest import Progress, repair
from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder
from advisor.retrieval.lexical import tokenize
from advisor.settings import Settings

SAMPLE_QUERIES = 25  # stored vectors looked up in the index by verify (one per document, up to this many)


@dataclass
class VerifyReport:
    documents: int = 0
    chunks: int = 0
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    lexical_ok: bool = True  # the lexical index agreed with the manifest and the chunk texts

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "chunks": self.chunks,
            "problems": self.problems,
            "repaired": self.repaired,
        }


@dataclass
class RebuildReport:
    old_collection: str
    new_collection: str
    documents: int
    chunks: int
    embed_model: str
    dropped: list[str] = field(default_factory=list)  # documents whose chunks were lost before the rebuild


def _sample(items: list[str], n: int) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


def check(kb: KnowledgeBase) -> VerifyReport:
    """Compare the manifest with Chroma, and the lexical index with both (after bringing it up to date)."""
    kb.reload_manifest()
    manifest = kb.manifest
    report = VerifyReport(documents=len(manifest.documents))
    owner = {cid: doc.doc_id for doc in manifest.documents.values() for cid in doc.chunk_ids}
    live = sorted(owner)
    report.chunks = len(live)
    if len(owner) != sum(doc.chunks for doc in manifest.documents.values()):
        report.problems.append("the manifest lists a chunk under more than one document (or twice)")

    present = kb.collection.all_ids()
    missing = sorted(set(live) - present)
    strays = sorted(present - set(live))
    if missing:
        docs = sorted({owner[c] for c in missing})
        report.problems.append(
            f"{len(missing)} chunk(s) in the manifest are missing from Chroma (documents: {_sample(docs, 5)})"
        )
    if strays:
        report.problems.append(f"{len(strays)} stray chunk(s) in Chroma that no document lists: {_sample(strays, 3)}")

    stored = kb.collection.fetch([c for c in live if c in present])
    misfiled = sorted(c for c, (_, meta) in stored.items() if meta.get("doc_id") != owner[c])
    if misfiled:
        report.problems.append(
            f"{len(misfiled)} chunk(s) are filed under another document in Chroma: {_sample(misfiled, 3)}"
        )

    # The lexical index: each live chunk held with the terms its text in Chroma makes and with Chroma's vector,
    # nothing else held.
    vector_ids, matrix = kb.collection.vector_rows(sorted(stored))
    lexical = kb.lexical.check(stored, dict(zip(vector_ids, matrix, strict=True)))
    report.repaired.extend(lexical.rebuilt)
    lexical_problems = list(lexical.problems)
    for ids, what in (
        (lexical.missing, "live chunk(s) are missing from the lexical index"),
        (lexical.stray, "chunk(s) in the lexical index that no document lists"),
        (lexical.mismatched, "chunk(s) in the lexical index don't match their text in Chroma"),
        *(
            (
                (lexical.vectors.missing, "live chunk(s) have no vector in the lexical index's copy"),
                (lexical.vectors.stray, "vector(s) in the lexical index's copy that no document lists"),
                (lexical.vectors.mismatched, "vector(s) in the lexical index's copy differ from Chroma's"),
            )
            if lexical.vectors
            else ()
        ),
    ):
        if ids:
            lexical_problems.append(f"{len(ids)} {what}: {_sample(ids, 3)}")
    report.problems.extend(lexical_problems)
    report.lexical_ok = not lexical_problems
    unindexable = sorted(c for c in live if c in stored and not tokenize(stored[c][0]))
    if unindexable:
        report.problems.append(f"{len(unindexable)} chunk(s) have no words BM25 can index: {_sample(unindexable, 3)}")

    # Dense side: stored vectors have the manifest's dimension, and the index finds them.
    probes = [doc.chunk_ids[0] for doc in sorted(manifest.documents.values(), key=lambda d: d.doc_id) if doc.chunk_ids]
    probes = [c for c in probes if c in present][:SAMPLE_QUERIES]
    vectors = kb.collection.vectors(probes)
    wrong_size = sorted(c for c, v in vectors.items() if len(v) != manifest.dimension)
    if wrong_size:
        report.problems.append(
            f"{len(wrong_size)} vector(s) don't have {manifest.dimension} dimensions: {_sample(wrong_size, 3)}"
        )
    elif vectors:
        nearest = kb.collection.nearest([vectors[c] for c in probes], 1)
        lost = [
            c for c, got in zip(probes, nearest, strict=True) if not got or (got[0][0] != c and got[0][1] < 1 - 1e-4)
        ]
        if lost:
            report.problems.append(f"the vector index does not find {len(lost)} stored chunk(s): {_sample(lost, 3)}")

    leftovers = kb.other_collections()
    if leftovers:
        report.problems.append(f"leftover collection(s) from an interrupted rebuild: {_sample(leftovers, 3)}")
    return report


def verify(kb: KnowledgeBase, embedder: Embedder, repair_problems: bool = False) -> VerifyReport:
    """Check the knowledge base; with ``repair_problems``, fix what can be fixed (under the writer lock) and re-check."""
    report = check(kb)
    if report.ok or not repair_problems:
        return report
    with kb.write_lock():
        notes = [*report.repaired, *repair(kb, embedder, full=True)]
        if not report.lexical_ok:
            kb.lexical.rebuild()
            notes.append("rebuilt the lexical index")
    after = check(kb)
    after.repaired = notes + after.repaired
    return after


def open_for_rebuild(settings: Settings, embedder: Embedder) -> KnowledgeBase:
    """The knowledge base as it is, even if it was built with another embedding model."""
    return KnowledgeBase(settings, embedder.name, embedder.dimension, check_model=False)


def rebuild(kb: KnowledgeBase, embedder: Embedder, progress: Progress | None = None) -> RebuildReport:
    """Re-embed every live chunk into a new collection, verify it, switch the manifest to it, drop the old one."""
    from advisor.errors import StoreError

    with kb.write_lock():
        manifest = kb.manifest
        old_name = manifest.collection
        for name in kb.other_collections(older_than=kb.leftover_grace):  # an interrupted rebuild
            kb.drop_collection(name)
        # Chunks that are already lost can't be re-embedded: those documents are dropped and reported.
        present = kb.collection.existing_ids(sorted(manifest.live_chunk_ids()))
        dropped = sorted(d.doc_id for d in manifest.documents.values() if any(c not in present for c in d.chunk_ids))
        keep = [c for d in manifest.documents.values() if d.doc_id not in dropped for c in d.chunk_ids]
        new = kb.new_collection(embedder.name, embedder.dimension)
        try:
            # WRITE_BATCH chunks at a time, fetched, re-embedded and written: memory stays flat in the store size.
            for start in range(0, len(keep), WRITE_BATCH):
                part = keep[start : start + WRITE_BATCH]
                stored = kb.collection.fetch(part)
                if len(stored) != len(part):
                    raise StoreError(
                        f"chunks of {kb.collection.name} vanished during the rebuild; the old one stays live"
                    )
                texts = [stored[c][0] for c in part]
                metas = [stored[c][1] for c in part]
                vectors: list[Any] = []
                for at in range(0, len(part), EMBED_BATCH):
                    vectors.extend(
                        embedder.embed(
                            [
                                embed_text(str(m.get("title", "")), str(m.get("section", "")), t)
                                for t, m in zip(texts[at : at + EMBED_BATCH], metas[at : at + EMBED_BATCH], strict=True)
                            ]
                        )
                    )
                    if progress:
                        progress(start + min(at + EMBED_BATCH, len(part)), len(keep))
                new.upsert(part, vectors, texts, metas)
            if new.count() != len(keep) or new.existing_ids(keep) != set(keep):
                raise StoreError(f"the rebuilt collection {new.name} is incomplete; the old one stays live")
        except BaseException:
            kb.drop_collection(new.name)
            raise
        for doc_id in dropped:
            manifest.documents.pop(doc_id)
        previous = (manifest.collection, manifest.embed_model, manifest.dimension, kb.collection)
        manifest.collection, manifest.embed_model, manifest.dimension = new.name, embedder.name, embedder.dimension
        kb.collection = new  # the commit's diff takes the new vectors from it
        try:
            kb.save_manifest()
        except BaseException:
            manifest.collection, manifest.embed_model, manifest.dimension, kb.collection = previous
            raise
        kb.adopt_model(embedder.name, embedder.dimension)
        kb.drop_collection(old_name)
        kb.lexical.rebuild()  # from the new collection's texts, a batch at a time
    return RebuildReport(old_name, new.name, len(manifest.documents), len(keep), embedder.name, dropped)
