"""advisor: a grounded, cited career advisor over a knowledge base of career documents.

The layout is the architecture. One rule holds it together, checked by ``tests/test_layout.py``:

    **The engine never imports the app, the CLI or Streamlit.**

- The engine: ``settings``, ``errors``, ``prompts``, ``text``, ``fileio``, ``access``, ``core`` (the
  :class:`Advisor` facade), ``langchain`` (its parts as LangChain retriever, embeddings and runnable) and the stage packages ``providers/`` (embedding and chat models), ``kb/`` (loaders, chunking,
  ingest, manifest, collection, store, maintenance), ``retrieval/`` (lexical, retriever), ``answering/``
  (conversation, evidence, guard, answer) and ``evals/``.
- The edges, which may import the engine but never the other way round: ``cli/`` (the command line),
  ``api/`` (``advisor serve``) and ``app/`` (the Streamlit app: its pages and what only they use).

The public entry points are :func:`advisor.settings.load_settings` and :class:`advisor.core.Advisor`.
Nothing heavy is imported here: models and stores load on first use.
"""

__version__ = "0.1.0"
