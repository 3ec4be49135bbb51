"""The sentence-transformers embedder and its offline weights."""
