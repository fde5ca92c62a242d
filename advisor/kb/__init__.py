"""The knowledge base: documents in, chunks and vectors stored, a manifest that says what is live."""
