"""Evaluation of the assistant: datasets, metrics, baselines and reports (``rag eval``)."""
