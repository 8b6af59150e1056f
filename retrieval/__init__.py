"""Retrieval: from a question to ranked, highlighted passages of one index.

The stages, in the order :class:`retrieval.searcher.Searcher` runs them:

1. **query** (:mod:`retrieval.query`): the question is analysed once: language, lexical
   terms, the e5 query vector and BM25's weight. Every later stage reads this one object.
2. **retrieve** (:mod:`retrieval.retrievers`): dense candidates from the vector index and
   BM25 candidates from SQLite FTS5, with raw scores (:class:`retrieval.retrievers.Candidates`).
   One :class:`retrieval.retrievers.IndexRetriever` searches one index: the unit a router can fan out to.
3. **fuse** (:mod:`retrieval.stages.fusion`): one score per candidate from both lists.
4. **evidence** (:mod:`retrieval.stages.evidence`): each candidate's best sentence; its cosine is
   added to the fused score (a passage whose one sentence answers beats one only on topic).
5. **variety** (:mod:`retrieval.stages.variety`): greedy selection, at most two passages of an article
   and no near-copies before the others. Greedy selection is prefix-stable and every score
   above is computed for a fixed candidate pool, so the first k answers never depend on k.

The result is a list of :class:`retrieval.hits.Hit` (domain objects, no HTTP).
"""
