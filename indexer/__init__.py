"""Fundstelle indexer: read, clean, chunk, embed and store news articles."""
