"""The sharded archive without Ray: placement, merging and routing give the single node's answers.

The same shard folders, manifest, shard objects and router as under Ray Serve, called in-process
(:mod:`scaleout.local`), so what sharding itself changes is tested apart from the cluster.
"""

import json

import pytest

from core.documents import Article
from core.errors import Conflict
from core.filters import Filters
from core.settings import Settings
from retrieval.retrievers import CANDIDATES
from scaleout.local import build_locally, open_locally
from scaleout.manifest import ModelIdentity, read_manifest, shard_dir, shard_of
from scaleout.router import ShardedEngine, ShardUnavailable, local_shards
from scaleout.shards import ShardReplica, split_id
from store.index import DB_NAME, Index
from tests.paths import REPO_ROOT
from tests.scaleout.conftest import corpus_articles

# the README's question, its English twin and the chat page's examples
SAMPLE_QUESTIONS = ["Wie viele nordkoreanische Soldaten sind in Russland?",
                    "How many North Korean soldiers are in Russia?",
                    "Welche Raketen hat Nordkorea an Russland geliefert?",
                    "Wie hat Putin den nordkoreanischen Truppen gedankt?"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("local-archive") / "archive"
    counts = build_locally(root, corpus_articles(), 2, encoder, Settings())
    return root, counts


@pytest.fixture
def sharded(archive, encoder):
    return open_locally(archive[0], encoder, Settings())


@pytest.fixture(scope="module")
def merged(archive, encoder, tmp_path_factory):
    """One index of the shards' rows as they are stored, vectors included, articles in the single node's
    order: what sharding itself must not change. (A single node indexed afresh has slightly different
    vectors: the int8 encoder's vector of a passage depends on the batch it was embedded in.)"""
    root, shards = archive[0], read_manifest(archive[0]).shards
    index = Index.open(tmp_path_factory.mktemp("merged") / "index", encoder, create=True)
    store = index.store
    for i in range(shards):
        store.conn.execute(f"ATTACH DATABASE ? AS shard{i}", (str(shard_dir(root, i) / DB_NAME),))
    columns = "doc_id, ordinal, paragraph, char_start, char_end, heading, sentences, vector, sentence_vectors"
    with store.write() as conn:
        store.set_meta(conn, **index.model_meta(), generation="1")
        for doc_id in dict.fromkeys(a.doc_id for a in corpus_articles()):
            source = f"shard{shard_of(doc_id, shards)}"
            conn.execute(f"INSERT INTO documents SELECT * FROM {source}.documents WHERE doc_id = ?", (doc_id,))
            for (old,) in conn.execute(f"SELECT id FROM {source}.passages WHERE doc_id = ? ORDER BY ordinal",
                                       (doc_id,)).fetchall():
                new = conn.execute(f"INSERT INTO passages ({columns}) SELECT {columns} FROM {source}.passages"
                                   " WHERE id = ?", (old,)).lastrowid
                conn.execute(f"INSERT INTO passages_fts (rowid, terms) SELECT ?, terms FROM {source}.passages_fts"
                             " WHERE rowid = ?", (new, old))
    for i in range(shards):
        store.conn.execute(f"DETACH DATABASE shard{i}")
    index.refresh()
    yield index
    index.close()


def _passage(hit):
    return hit.passage.doc_id, hit.passage.char_start, hit.passage.char_end


def test_every_article_is_in_its_shard_once(archive, single_node, sharded):
    root, counts = archive
    assert sum(counts) == single_node.counts()[1]
    total, documents = sharded.documents(0, 500)
    assert total == single_node.counts()[0]
    assert documents == single_node.store.page(0, 500)[1]  # same order: newest first, then doc_id
    assert sharded.documents(3, 4)[1] == single_node.store.page(3, 4)[1]
    outlet = next(d["source"] for d in documents if d["source"])
    narrowed = Filters(sources=(outlet.upper(),))  # the list filter matches outlets case-insensitively, as ask does
    assert sharded.documents(0, 500, narrowed) == single_node.store.page(0, 500, narrowed)
    assert {d["source"] for d in sharded.documents(0, 500, narrowed)[1]} == {outlet}
    manifest = read_manifest(root)
    for doc in documents[:5]:
        stored = sharded.document(doc["doc_id"])
        assert stored["text"] == single_node.store.document(doc["doc_id"])["text"]
        for passage in stored["passages"]:
            assert split_id(passage["passage_id"], 2)[0] == shard_of(doc["doc_id"], manifest.shards)


@pytest.mark.parametrize("question", SAMPLE_QUESTIONS)
def test_same_top_passage_as_single_node(sharded, single_node, encoder, question):
    from retrieval.searcher import Searcher

    single = Searcher.over(single_node, encoder, reader=sharded.searcher.reader).ask(question, 5)
    answer = sharded.ask(question, 5)
    assert _passage(answer.hits[0]) == _passage(single.hits[0])
    assert not answer.partial and answer.missing_shards == ()
    shard, local = split_id(answer.hits[0].passage.id, 2)
    assert shard == shard_of(answer.hits[0].passage.doc_id, 2) and local >= 1


@pytest.mark.parametrize("question", SAMPLE_QUESTIONS)
def test_same_answers_as_one_index_of_the_same_rows(sharded, merged, encoder, question):
    """Against one index holding the shards' very rows (vectors too), every hit and score is the same,
    the reader (which reads once, at the ingress, over the merged pool) included."""
    from retrieval.searcher import Searcher

    single = Searcher.over(merged, encoder, reader=sharded.searcher.reader).ask(question, 5)
    answer = sharded.ask(question, 5)
    assert [_passage(h) for h in answer.hits] == [_passage(h) for h in single.hits]
    assert [h.score for h in answer.hits] == pytest.approx([h.score for h in single.hits], rel=1e-9)
    assert [h.highlights for h in answer.hits] == [h.highlights for h in single.hits]


def test_writes_go_to_the_owning_shard(sharded):
    article = Article("local-write-1", "Wale", "Blauwale werden bis zu 30 Meter lang. Sie sind die größten Tiere.")
    assert sharded.write(article, create_only=True) == ("added", 1)
    assert sharded.write(article, create_only=True) == ("unchanged", 1)
    with pytest.raises(Conflict):
        sharded.write(Article("local-write-1", "Wale", "Anderer Text über Wale und Meere."), create_only=True)
    owner = shard_of("local-write-1", 2)
    assert sharded.shards.call(owner, "hashes", ["local-write-1"])
    assert not sharded.shards.call(1 - owner, "hashes", ["local-write-1"])
    hit = sharded.ask("Wie lang werden Blauwale?", 1).hits[0]
    assert hit.passage.doc_id == "local-write-1" and split_id(hit.passage.id, 2)[0] == owner
    assert sharded.delete(["local-write-1", "never-there"]) == ["local-write-1"]
    assert sharded.document("local-write-1") is None


def test_status_reports_each_shard(sharded, archive):
    state = sharded.status()
    assert state.state == "ready" and [s["shard"] for s in state.shards] == [0, 1]
    assert sum(s["passages"] for s in state.shards) == state.passages == sum(archive[1])


def question_set() -> list[str]:
    """The hand-made questions over the bundled corpus, answerable and not (data/questions)."""
    folder = REPO_ROOT / "data" / "questions"
    return [json.loads(line)["question"] for name in ("bundled.jsonl", "unanswerable.jsonl")
            for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _ranking(found, side: str) -> list[tuple[tuple, float]]:
    """One side's candidates as (passage, raw score), best first, equal scores in passage order; in a
    full list the candidates tied with the last one are left out (which of them made the cut is arbitrary)."""
    passages = {pid: (p.doc_id, p.char_start, p.char_end) for pid, p in found.passages.items()}
    ranked = sorted(((passages[pid], round(s, 9)) for pid, s in getattr(found, side)), key=lambda c: (-c[1], c[0]))
    return [c for c in ranked if c[1] != ranked[-1][1]] if len(ranked) >= CANDIDATES else ranked


def test_candidates_equal_one_indexs_for_every_question_of_the_set(sharded, single_node, merged, encoder):
    """The pool the searcher ranks, for each of the 132 questions: the single node's BM25 candidates with
    the same scores (every shard scores with the archive's statistics), and the dense and BM25 candidates
    of one index holding the shards' rows."""
    from retrieval.query import analyse
    from retrieval.retrievers import IndexRetriever

    single, one_index = IndexRetriever(single_node), IndexRetriever(merged)
    for question in question_set():
        query = analyse(question, encoder)
        found = sharded.retriever.retrieve(query)
        assert _ranking(found, "lexical") == _ranking(single.retrieve(query), "lexical"), question
        expected = one_index.retrieve(query)
        for side in ("dense", "lexical"):
            assert _ranking(found, side) == _ranking(expected, side), (question, side)


class _Counted:
    """A shard replica that records the calls it gets; ``failing`` methods answer as a restarting replica."""

    def __init__(self, replica: ShardReplica, failing: tuple[str, ...] = ()):
        self.replica, self.failing, self.calls = replica, failing, []

    def __getattr__(self, name):
        self.calls.append(name)
        if name in self.failing:
            return self._unavailable
        return getattr(self.replica, name)

    def _unavailable(self, *args):
        raise ShardUnavailable(f"shard {self.replica.shard} is not answering")


def _engine(root, encoder, shards: list[_Counted]) -> ShardedEngine:
    return ShardedEngine(Settings(), read_manifest(root), local_shards(shards), encoder)


def _replicas(root, encoder, failing: dict[int, tuple[str, ...]] | None = None) -> list[_Counted]:
    model = ModelIdentity.of(encoder)
    return [_Counted(ShardReplica(str(root), i, model, Settings()), (failing or {}).get(i, ())) for i in range(2)]


def test_a_shard_missing_from_the_statistics_makes_the_answer_partial(archive, encoder):
    shards = _replicas(archive[0], encoder, failing={1: ("lexical_stats",)})
    answer = _engine(archive[0], encoder, shards).ask(SAMPLE_QUESTIONS[0], 5)
    assert answer.partial and answer.missing_shards == (1,) and answer.hits
    assert "retrieve" not in shards[1].calls  # scored with sums it is not in, its passages would not compare
    assert {split_id(h.passage.id, 2)[0] for h in answer.hits} == {0}


def test_context_windows_take_one_call_per_shard(archive, encoder):
    shards = _replicas(archive[0], encoder)
    answer = _engine(archive[0], encoder, shards).ask(SAMPLE_QUESTIONS[0], 5)
    assert len(answer.hits) == 5
    for shard in shards:
        assert shard.calls.count("lexical_stats") == shard.calls.count("retrieve") == 1
        assert shard.calls.count("widen_many") <= 1 and "widen" not in shard.calls
    assert sum(s.calls.count("widen_many") for s in shards) == len({split_id(h.passage.id, 2)[0] for h in answer.hits})

