"""The ranking stages, in the order :func:`retrieval.ranking.stages` lists them. Each is one class with a
``name`` and ``__call__(ranking) -> ranking`` (:class:`retrieval.types.Stage`); a new stage is one module
here and one line in :mod:`retrieval.ranking`."""
