"""Knowledge-base lifecycle on a real Chroma, embedded and server: add, replace, remove, update, verify, repair, rebuild."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from advisor.errors import EmbeddingMismatchError, InputError, StoreError, StoreLockedError
from advisor.kb import ingest
from advisor.kb import maintenance as kbm
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.retriever import Retriever
from advisor.settings import Settings
from tests.conftest import make_settings, use_env
from tests.servers import chroma_server, store_env, store_settings, store_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def doc_text(topic: str, sections: int = 3, version: str = "one") -> str:
    parts = [f"# Notes on {topic}\n"]
    for i in range(sections):
        parts.append(
            f"## Part {i} of {topic}\n\nThe {topic} team keeps fact {i} in version {version}: "
            f"every {topic} review number {i} happens on day {i + 3} of the sprint. "
            + " ".join(f"Detail {j} about {topic} item {i} is recorded for audits." for j in range(25))
        )
    return "\n\n".join(parts) + "\n"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def open_kb(settings: Settings, embedder) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    return KnowledgeBase(settings, embedder.name, embedder.dimension)


def manifest_digest(kb: KnowledgeBase) -> str:
    return hashlib.sha256((kb.manifests.read_text() or "").encode("utf-8")).hexdigest()


@pytest.fixture
def settings_on(tmp_path: Path, store_url: str | None) -> Settings:  # noqa: F811
    return store_settings(tmp_path, store_url, knowledge_dir=tmp_path / "knowledge")


def test_adding_the_same_folder_twice_leaves_count_and_ids_unchanged(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    write(tmp_path / "docs", "herons.txt", doc_text("herons"))
    kb = open_kb(settings_on, embedder)
    first = ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    assert sorted((c.doc_id, c.status) for c in first.changes) == [("herons", "added"), ("otters", "added")]
    ids, count, digest = kb.collection.all_ids(), kb.collection.count(), manifest_digest(kb)

    second = ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    assert [c.status for c in second.changes] == ["unchanged", "unchanged"]
    assert second.changed == []
    assert kb.collection.all_ids() == ids and kb.collection.count() == count
    assert manifest_digest(kb) == digest
    assert kbm.check(kb).ok


def test_a_changed_document_replaces_its_chunks_and_leaves_none_of_the_old_ones(
    settings_on, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "docs", "otters.md", doc_text("otters", sections=4, version="one"))
    kb = open_kb(settings_on, embedder)
    before = ingest.add_paths(kb, embedder, [path]).changes[0]
    old_ids = set(kb.manifest.documents["otters"].chunk_ids)

    path.write_text(doc_text("otters", sections=3, version="two"), encoding="utf-8")
    after = ingest.add_paths(kb, embedder, [path]).changes[0]

    assert after.status == "replaced"
    assert (after.old_hash, after.new_hash) == (before.new_hash, kb.manifest.documents["otters"].content_hash)
    new_ids = set(kb.manifest.documents["otters"].chunk_ids)
    assert kb.collection.all_ids() == new_ids
    assert not (old_ids - new_ids) & kb.collection.all_ids()
    texts = [text for text, _ in kb.collection.fetch(sorted(new_ids)).values()]
    assert all("version two" in t for t in texts if "keeps fact" in t)
    assert not any("version one" in t for t in texts)
    assert kbm.check(kb).ok


def test_removing_a_document_takes_it_out_of_the_manifest_chroma_and_search(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    write(tmp_path / "docs", "herons.md", doc_text("herons"))
    kb = open_kb(settings_on, embedder)
    ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    retriever = Retriever(kb, embedder, settings_on)
    assert retriever.search("When does the herons review happen?").hits[0].doc_id == "herons"

    change = ingest.remove_document(kb, "herons", embedder=embedder)

    assert (change.status, change.new_hash) == ("removed", None)
    assert "herons" not in kb.manifest.documents
    assert not any(cid.startswith("herons:") for cid in kb.collection.all_ids())
    assert all(hit.doc_id != "herons" for hit in retriever.search("When does the herons review happen?").hits)
    assert not retriever.knows("heron") and retriever.knows("otter")  # its words are gone from the lexical index
    assert all(not cid.startswith("herons:") for cid, _ in retriever.lexical.top("herons review", 50))
    assert kbm.check(kb).ok


def test_update_adds_new_replaces_changed_and_drops_deleted_knowledge_files(settings_on, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = settings_on.knowledge_dir
    write(folder, "otters.md", doc_text("otters"))
    write(folder, "herons.md", doc_text("herons"))
    kb = open_kb(settings_on, embedder)
    assert ingest.sync_folder(kb, embedder, folder).count("added") == 2

    write(folder, "otters.md", doc_text("otters", version="two"))
    (folder / "herons.md").unlink()
    write(folder, "voles.md", doc_text("voles"))
    report = ingest.sync_folder(kb, embedder, folder)

    assert sorted((c.doc_id, c.status) for c in report.changed) == [
        ("herons", "removed"),
        ("otters", "replaced"),
        ("voles", "added"),
    ]
    assert sorted(kb.manifest.documents) == ["otters", "voles"]
    assert kbm.check(kb).ok


def test_update_keeps_the_previous_version_of_a_file_that_no_longer_loads(settings_on, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = settings_on.knowledge_dir
    path = write(folder, "otters.md", doc_text("otters"))
    kb = open_kb(settings_on, embedder)
    ingest.sync_folder(kb, embedder, folder)
    digest = manifest_digest(kb)

    path.write_bytes(b"\xff\xfe broken \x00 bytes")
    report = ingest.sync_folder(kb, embedder, folder)

    assert report.errors and "otters.md" in report.errors[0]
    assert report.changed == []
    assert manifest_digest(kb) == digest


def test_update_refuses_a_knowledge_folder_that_does_not_exist(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    kb = open_kb(settings, embedder)
    with pytest.raises(InputError, match="does not exist"):
        ingest.sync_folder(kb, embedder, tmp_path / "no-such-folder")


def test_verify_names_stray_and_missing_chunks_and_repair_fixes_them(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    write(tmp_path / "docs", "herons.md", doc_text("herons"))
    kb = open_kb(settings_on, embedder)
    ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    ingest.add_document(kb, embedder, ingest.load_path(write(tmp_path / "gone", "voles.md", doc_text("voles")), 10**6))
    (tmp_path / "gone" / "voles.md").unlink()  # its source is gone: it can't be re-indexed
    vector = embedder.embed(["a leftover"])[0].tolist()
    kb.collection.chroma.upsert(
        ids=["ghost:0"], embeddings=[vector], documents=["a leftover"], metadatas=[{"doc_id": "ghost"}]
    )
    kb.collection.delete(
        ids=[kb.manifest.documents["otters"].chunk_ids[0], kb.manifest.documents["voles"].chunk_ids[0]]
    )

    report = kbm.verify(kb, embedder)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "2 chunk(s) in the manifest are missing from Chroma" in text and "otters" in text and "voles" in text
    assert "1 stray chunk(s)" in text and "ghost:0" in text

    fixed = kbm.verify(kb, embedder, repair_problems=True)
    assert fixed.ok, fixed.problems
    assert any("re-indexed otters" in n for n in fixed.repaired)
    assert any("dropped voles" in n for n in fixed.repaired)
    assert sorted(kb.manifest.documents) == ["herons", "otters"]


def test_the_next_write_removes_leftovers_of_an_interrupted_one(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    kb = open_kb(settings_on, embedder)
    ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    vector = embedder.embed(["a leftover"])[0].tolist()
    hour_ago, now = int(time.time()) - 3600, int(time.time())
    kb.collection.chroma.upsert(
        ids=["ghost:old", "ghost:new"],
        embeddings=[vector, vector],
        documents=["a leftover", "a chunk being written"],
        metadatas=[{"doc_id": "ghost", "written": hour_ago}, {"doc_id": "ghost", "written": now}],
    )
    half_built = kb.client.create_collection(  # as a rebuild killed an hour ago leaves it
        name=f"{settings_on.collection_prefix}-half-built",
        metadata={"advisor_kb": settings_on.collection_prefix, "created": hour_ago},
    )
    assert not kbm.check(kb).ok

    report = ingest.add_paths(kb, embedder, [write(tmp_path / "docs", "herons.md", doc_text("herons"))])

    assert half_built.name not in [c.name for c in kb.client.list_collections()]
    assert any(half_built.name in n for n in report.repaired)
    assert "ghost:old" not in kb.collection.all_ids()
    if settings_on.chroma_url:  # on a server, a fresh unlisted chunk may be another machine's write in flight
        assert "ghost:new" in kb.collection.all_ids()
        assert "1 stray chunk(s)" in "\n".join(kbm.check(kb).problems)
    else:  # locally the writer lock rules that out: it is a leftover
        assert kbm.check(kb).ok


def test_rebuild_re_embeds_into_a_new_collection_then_drops_the_old_one(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    write(tmp_path / "docs", "herons.md", doc_text("herons"))
    kb = open_kb(settings_on, embedder)
    ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    old_name, documents = kb.manifest.collection, json.loads(kb.manifests.read_text() or "")["documents"]
    seen: list[tuple[int, int]] = []

    result = kbm.rebuild(
        kbm.open_for_rebuild(settings_on, embedder), embedder, progress=lambda d, t: seen.append((d, t))
    )

    kb.reload_manifest()
    assert result.old_collection == old_name != kb.manifest.collection == result.new_collection
    assert old_name not in [c.name for c in kb.client.list_collections()]
    assert json.loads(kb.manifests.read_text() or "")["documents"] == documents
    assert seen[-1] == (result.chunks, result.chunks)
    assert kbm.check(kb).ok
    hits = Retriever(kb, embedder, settings_on).search("When does the otters review happen?").hits
    assert hits[0].doc_id == "otters"


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor.cli", *args],
        env=store_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_running_reader_sees_what_another_process_adds_and_rebuilds(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    kb = open_kb(settings_on, embedder)
    ingest.add_paths(kb, embedder, [tmp_path / "docs"])
    retriever = Retriever(kb, embedder, settings_on)
    question = "When does the herons review happen?"
    assert all(h.doc_id != "herons" for h in retriever.search(question).hits)

    added = run_cli(settings_on, "kb", "add", str(write(tmp_path / "more", "herons.md", doc_text("herons"))))
    assert added.returncode == 0, added.stderr
    assert retriever.search(question).hits[0].doc_id == "herons"
    assert retriever.lexical.current and len(retriever.lexical) == len(kb.live_ids())  # the diff, applied

    rebuilt = run_cli(settings_on, "kb", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert retriever.search(question).hits[0].doc_id == "herons"
    assert kb.manifest.collection in rebuilt.stdout


class HashEmbedder:
    """Another 'embedding model' (deterministic bag of hashed words) to test a model change."""

    name = "hash-words-64"
    dimension = 64

    def embed(self, texts):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_an_embedding_model_change_is_refused_until_kb_rebuild(settings_on, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs", "otters.md", doc_text("otters"))
    ingest.add_paths(open_kb(settings_on, embedder), embedder, [tmp_path / "docs"])
    other = HashEmbedder()

    with pytest.raises(EmbeddingMismatchError, match=r"advisor kb rebuild") as err:
        open_kb(settings_on, other)
    assert embedder.name in str(err.value) and other.name in str(err.value)

    kbm.rebuild(kbm.open_for_rebuild(settings_on, other), other)

    kb = open_kb(settings_on, other)
    assert (kb.manifest.embed_model, kb.manifest.dimension) == (other.name, 64)
    assert kb.collection.metadata["embed_model"] == other.name
    assert kbm.check(kb).ok
    with pytest.raises(EmbeddingMismatchError, match=r"advisor kb rebuild"):
        open_kb(settings_on, embedder)


def test_the_kb_commands_list_show_verify_and_remove(settings_on, embedder, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from advisor.cli import main

    def cli(*args: str) -> tuple[int, str, str]:
        with use_env(store_env(settings_on)):
            code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    path = write(tmp_path / "docs", "otters.md", doc_text("otters"))
    code, out, err = cli("kb", "add", str(tmp_path / "docs"))
    assert code == 0, err
    assert "added     otters" in out

    listed = json.loads(cli("kb", "list", "--json")[1])
    assert [d["id"] for d in listed] == ["otters"]
    assert listed[0]["source"] == str(path.resolve())
    table = cli("kb", "list")[1]
    assert "otters" in table and "Notes on otters" in table
    shown = json.loads(cli("kb", "show", str(path))[1])
    assert shown["id"] == "otters" and len(shown["chunk_ids"]) == listed[0]["chunks"]

    code, out, _ = cli("kb", "verify")
    assert code == 0 and "OK" in out
    open_kb(settings_on, embedder).collection.delete(ids=[shown["chunk_ids"][0]])
    code, out, _ = cli("kb", "verify")
    assert code == 1
    assert "1 chunk(s) in the manifest are missing from Chroma (documents: otters)" in out
    code, out, _ = cli("kb", "verify", "--repair")
    assert code == 0, out
    assert "re-indexed otters" in out

    code, out, _ = cli("kb", "remove", "otters")
    assert code == 0 and "removed otters" in out
    code, _, err = cli("kb", "show", "otters")
    assert code == 1 and err.startswith("error: no document 'otters'")


def test_on_a_server_a_write_from_another_machine_meanwhile_refuses_the_later_commit(
    chroma_server,  # noqa: F811
    embedder,
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    first = store_settings(tmp_path / "machine-a", chroma_server)
    second = first.with_(data_dir=tmp_path / "machine-b" / "data")  # same server and prefix, another lock file
    a, b = open_kb(first, embedder), open_kb(second, embedder)
    ingest.add_paths(a, embedder, [write(tmp_path / "docs", "otters.md", doc_text("otters"))])
    b.reload_manifest()
    assert sorted(b.manifest.documents) == ["otters"]  # one knowledge base, seen from both machines

    herons = ingest.load_path(write(tmp_path / "docs", "herons.md", doc_text("herons")), 10**6)
    voles = ingest.load_path(write(tmp_path / "docs", "voles.md", doc_text("voles")), 10**6)
    ingest.add_document(a, embedder, herons)
    # b read the manifest before a's commit and writes without reloading it, as a racing machine would.
    with pytest.raises(
        StoreLockedError, match=r"another process changed the knowledge base \(.*\) while this one was writing"
    ):
        ingest.add_document(b, embedder, voles, lock=False)
    assert "voles" not in b.manifest.documents  # its in-memory manifest is back to what it read

    assert [c.status for c in ingest.add_paths(b, embedder, [tmp_path / "docs" / "voles.md"]).changes] == ["added"]
    a.reload_manifest()
    assert sorted(a.manifest.documents) == ["herons", "otters", "voles"]


def test_a_damaged_manifest_is_reported_clearly_not_silently_replaced(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    ingest.add_paths(open_kb(settings, embedder), embedder, [write(tmp_path / "docs", "otters.md", doc_text("otters"))])
    settings.manifest_path.write_text('{"collection": "advisor-x", "documents": {', encoding="utf-8")
    with pytest.raises(StoreError, match=r"manifest\.json is damaged .*restore it from a backup"):
        open_kb(settings, embedder)
    assert settings.manifest_path.read_text(encoding="utf-8") == '{"collection": "advisor-x", "documents": {'
