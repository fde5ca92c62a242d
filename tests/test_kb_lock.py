"""Single writer: while one process writes, a second writer waits briefly then fails clearly; readers keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from advisor.errors import StoreLockedError
from advisor.kb import ingest
from advisor.kb import maintenance as kbm
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.retriever import Retriever
from tests.servers import chroma_server, store_env, store_settings, store_url  # noqa: F401  (fixtures)
from tests.test_kb import doc_text, write

pytestmark = pytest.mark.slow

HOLDER = """
import sys
from pathlib import Path
from advisor.kb import ingest
from advisor.providers.embeddings import make_embedder
from advisor.kb.loaders import load_path
from advisor.settings import load_settings
from advisor.kb.store import KnowledgeBase

settings = load_settings()
embedder = make_embedder(settings)
store = KnowledgeBase(settings, embedder.name, embedder.dimension)
with ingest.writing(store, embedder):
    ingest.add_document(store, embedder, load_path(Path(sys.argv[1]), 10**6), lock=False)
    print("writing", flush=True)
    sys.stdin.readline()  # hold the lock until the test says so
print("released", flush=True)
"""


def test_a_second_writer_fails_clearly_while_readers_keep_working(tmp_path: Path, store_url, embedder) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings = store_settings(tmp_path, store_url)
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    ingest.add_paths(kb, embedder, [write(tmp_path / "docs", "otters.md", doc_text("otters"))])
    retriever = Retriever(kb, embedder, settings)
    herons = write(tmp_path / "docs", "herons.md", doc_text("herons"))
    voles = write(tmp_path / "docs", "voles.md", doc_text("voles"))

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(herons)],
        env=store_env(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "writing"

        with pytest.raises(StoreLockedError, match="another advisor process is updating the knowledge base"):
            ingest.add_paths(kb, embedder, [voles])
        cli = subprocess.run(
            [sys.executable, "-m", "advisor.cli", "kb", "add", str(voles)],
            env=store_env(settings),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode != 0
        assert cli.stderr.startswith("error: another advisor process is updating the knowledge base")
        assert "Traceback" not in cli.stderr

        # Readers are not blocked by the writer.
        assert retriever.search("When does the otters review happen?").hits[0].doc_id == "otters"
        assert "otters" in kb.manifest.documents
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert out.strip() == "released"

    # Once the first writer is done, the second one goes through, and nothing got corrupted.
    assert [c.status for c in ingest.add_paths(kb, embedder, [voles]).changes] == ["added"]
    assert sorted(kb.manifest.documents) == ["herons", "otters", "voles"]
    assert kbm.check(kb).ok
    assert retriever.search("When does the herons review happen?").hits[0].doc_id == "herons"
