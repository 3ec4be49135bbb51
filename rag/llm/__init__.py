"""LLM backends behind one interface, and the supervised llama.cpp process."""
