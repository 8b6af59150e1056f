"""Fundstelle service: hybrid search, citations, the HTTP API and the chat page."""
