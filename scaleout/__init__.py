"""Scale-out on Ray: one archive in N shards, indexed with Ray Data, served with Ray Serve.

Optional (the ``.[ray]`` extra); the single-node path never imports this package or Ray.

- :mod:`scaleout.manifest`: the archive's layout and placement (``sha1(doc_id) mod N``), checked by every part.
- :mod:`scaleout.cluster`: connecting to a cluster, or starting a loopback-only one (``local``).
- :mod:`scaleout.ingest`: `fundstelle index --ray` (read/chunk tasks, embedding actors, one writer per shard).
- :mod:`scaleout.shards`: one shard as Serve runs it (raw candidates under global passage ids).
- :mod:`scaleout.router`: :class:`~scaleout.router.ShardedEngine`, the Engine interface over the shards.
- :mod:`scaleout.serve`: `fundstelle serve --ray` (the single node's FastAPI app as the ingress).
- :mod:`scaleout.local`: the same archive in one process without Ray (tests, benchmarks).

See docs/scale-out.md.
"""
