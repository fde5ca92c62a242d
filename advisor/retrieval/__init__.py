"""Retrieval: dense (Chroma) and lexical (BM25) search, fused."""
