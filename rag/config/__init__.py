"""Settings and the embedded model profiles."""
