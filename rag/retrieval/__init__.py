"""Finding passages for a question (modes) and the evidence sentences in them."""
