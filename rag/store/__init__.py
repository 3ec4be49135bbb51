"""The persisted index: passages, dense vectors, BM25, shards, manifest."""
