"""The input formats, one module each; importing this package registers them all.

To add a format: a module here that calls :func:`registry.register`, and its import below.
"""

from indexer.ingest.formats import feed, html, jsonl, markdown, pdf, text  # noqa: F401  (each registers itself)
from indexer.ingest.formats.registry import (
    Format,
    ReadContext,
    described,
    for_suffix,
    formats,
    register,
    suffix_list,
    supported_hint,
    supported_suffixes,
)

__all__ = ["Format", "ReadContext", "described", "for_suffix", "formats", "register", "suffix_list",
           "supported_hint", "supported_suffixes"]
