"""Vectorizer: turns artwork images into embeddings (decoder, model, worker)."""
