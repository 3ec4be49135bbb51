"""Articles in: reading by format (files and URLs), cleaning, sentences, passages."""
