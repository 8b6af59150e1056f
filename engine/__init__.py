"""The front object: everything a process does with one index, behind one class.

Routes and the CLI use only :class:`Engine`; it composes the indexer (writes) and
retrieval (questions) over one index folder.
"""

from engine.local import Engine, Status

__all__ = ["Engine", "Status"]
