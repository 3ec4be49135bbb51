"""LLM backends behind one interface (a registry, each with its own options), the embedded
model profiles and the supervised llama.cpp process."""
