"""A distractor corpus that ships offline, and real embeddings computed once and kept.

- :func:`pydoc_folder`: plain-text ``pydoc`` renderings of the Python standard library's modules (and their
  submodules), one ``.txt`` file each: about 11k chunks of text that has nothing to do with careers, made
  on this machine in ~40 s. Cached under ``benchmarks/.cache/pydoc-<python version>/``.
- :class:`CachedVectors`: the real embedding model behind an on-disk cache keyed by the exact text embedded.
  Ingesting the corpus for real takes ~10 minutes on 2 cores; with the cache every later store built from
  it through the advisor's own ingest gets the same real vectors in seconds. Only texts seen before are fast:
  the cache never invents a vector.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

CACHE = common.BENCH_DIR / ".cache"
# Not rendered: GUI and demo modules, the test suite, and modules whose import has side effects.
SKIP = {
    "antigravity",
    "this",
    "idlelib",
    "tkinter",
    "turtle",
    "turtledemo",
    "test",
    "lib2to3",
    "ensurepip",
    "venv",
    "pydoc_data",
    "xxsubtype",
}


def stdlib_modules() -> list[str]:
    """Importable standard-library module names (no test modules, no dunder or ``_test`` modules), sorted."""
    names = set()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        for module in pkgutil.walk_packages(onerror=lambda name: None):
            path = str(getattr(module.module_finder, "path", ""))
            if not path.startswith(sys.base_prefix) or "site-packages" in path:
                continue
            parts = module.name.split(".")
            if parts[0] in SKIP or any(p.startswith(("__", "_test")) for p in parts):
                continue
            names.add(module.name)
    return sorted(names)


def pydoc_folder(limit: int | None = None) -> Path:
    """A folder of ``pydoc-<module>.txt`` files (rendered once, then reused); ``limit`` caps the module count."""
    import pydoc

    folder = CACHE / f"pydoc-py{sys.version_info.major}.{sys.version_info.minor}"
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in stdlib_modules():
            try:
                with (
                    warnings.catch_warnings(),
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    warnings.simplefilter("ignore")
                    text = pydoc.render_doc(name, renderer=pydoc.plaintext)
            except BaseException:  # a module that can't be imported here (or exits on import) is left out
                continue
            (folder / f"pydoc-{name}.txt").write_text(text, encoding="utf-8")
        done.write_text("")
    if limit is None:
        return folder
    subset = CACHE / f"{folder.name}-first{limit}"
    if not subset.exists():
        subset.mkdir(parents=True)
        for path in sorted(folder.glob("*.txt"))[:limit]:
            (subset / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return subset


class LazyModel:
    """The real local model, loaded on the first text the cache doesn't hold (a warm cache never loads it)."""

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self) -> None:
        self._model: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            from advisor.providers.embeddings import LocalEmbedder

            # One thread: on a busy 2-core machine onnxruntime's second spinning thread costs more than it gives.
            self._model = LocalEmbedder(threads=1)
        return np.asarray(self._model.embed(texts), dtype=np.float32)


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class CachedVectors:
    """The real embedder with an on-disk cache of its vectors (``save()`` writes new ones). Counts misses."""

    def __init__(self, inner: Any = None, path: Path | None = None) -> None:
        inner = LazyModel() if inner is None else inner
        self.inner = inner
        self.name = inner.name
        self.dimension = int(inner.dimension)
        self.path = path or CACHE / f"vectors-{self.name}.npz"
        self.index: dict[bytes, int] = {}
        self.rows: list[np.ndarray] = []
        self.misses = 0
        if self.path.exists():
            data = np.load(self.path)
            self.rows = list(data["vectors"])
            self.index = {bytes(k).ljust(16, b"\0"): i for i, k in enumerate(data["keys"])}
        self._saved = len(self.rows)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_key(t) for t in texts]
        todo = sorted({i for i, k in enumerate(keys) if k not in self.index}, key=lambda i: keys[i])
        if todo:
            fresh = self.inner.embed([texts[i] for i in todo])
            for i, vector in zip(todo, fresh, strict=True):
                if keys[i] not in self.index:
                    self.index[keys[i]] = len(self.rows)
                    self.rows.append(np.asarray(vector, dtype=np.float32))
            self.misses += len(todo)
        return np.stack([self.rows[self.index[k]] for k in keys]) if keys else np.zeros((0, self.dimension), np.float32)

    def save(self) -> None:
        if len(self.rows) == self._saved:
            return
        # Keys as raw bytes (uint8 rows): numpy's fixed-width bytes type drops trailing NULs.
        items = sorted(self.index.items(), key=lambda item: item[1])
        keys = np.frombuffer(b"".join(k for k, _ in items), dtype=np.uint8).reshape(len(items), 16)
        self.rows = [self.rows[row] for _, row in items]
        self.index = {k: i for i, (k, _) in enumerate(items)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=np.stack(self.rows))
        tmp.replace(self.path)
        self._saved = len(self.rows)


def warm(folder: Path | None = None) -> int:
    """Embed the article and the pydoc corpus as ingest would (title, section and text), saving as it goes."""
    import time

    from advisor.kb.batch import embed_text
    from advisor.kb.chunking import chunk_document
    from advisor.kb.loaders import load_path

    cache = CachedVectors()
    root = folder or pydoc_folder()
    paths = [common.ARTICLE, *sorted(p for p in root.iterdir() if p.suffix in (".txt", ".md"))]
    began = time.perf_counter()
    total = 0
    for number, path in enumerate(paths, 1):
        doc = load_path(path, 50_000_000)
        chunks = chunk_document(doc.doc_id, doc.text)
        cache.embed([embed_text(doc.title, c.section, c.text) for c in chunks])
        total += len(chunks)
        if number % 20 == 0 or number == len(paths):
            cache.save()
            rate = cache.misses / max(time.perf_counter() - began, 1e-9)
            print(
                f"{number}/{len(paths)} documents, {total} chunks, {cache.misses} embedded ({rate:.1f}/s)", flush=True
            )
    return total


if __name__ == "__main__":
    print(f"{warm()} chunks embedded or found in {CachedVectors().path}")
