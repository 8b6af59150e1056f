"""The front object: everything a process does with an archive, behind one protocol.

:class:`Engine` (engine/types.py) is the protocol the routes, the CLI and the MCP tools use;
:class:`LocalEngine` implements it over one index folder (it only assembles: the indexer writes,
retrieval answers), :class:`scaleout.router.ShardedEngine` over the shards of an archive. Both
write through the one policy of :mod:`engine.writes`.
"""

from engine.local import LocalEngine
from engine.types import Engine, Status

__all__ = ["Engine", "LocalEngine", "Status"]
