"""Model providers: embeddings and chat models, local or OpenAI-compatible, picked by settings."""
