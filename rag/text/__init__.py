"""Language tools shared by every stage: word lists, the BM25 analyzer, language detection."""
