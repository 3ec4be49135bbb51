"""Settings: one resolve order for every setting."""
