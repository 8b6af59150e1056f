"""Errors a user can act on; their messages say what is wrong and what to do."""


class IndexProblem(RuntimeError):
    """The index cannot be used as it is (wrong model, damaged, missing)."""


class WriteBusy(RuntimeError):
    """Another process holds the index's write lock for too long."""


class Conflict(RuntimeError):
    """A create-only write found the doc_id already stored with other content."""


class Unindexable(ValueError):
    """An article that yields nothing to index (no passage after cleaning)."""
