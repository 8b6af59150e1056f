"""The vector indexes on their own (real FAISS, no model: clustered random unit vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from store import vectors as vx
from store.vectors import FlatIndex, IVFIndex, VectorIndex, build, load

DIM = 32


def clustered(n: int, seed: int = 0, topics: int = 20) -> np.ndarray:
    """Unit vectors around a few topic centres (like text embeddings: neighbours exist)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    x = centres[rng.integers(topics, size=n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_from(ids: np.ndarray, x: np.ndarray):
    """The exact-vector lookup the index gets from SQLite, here from memory."""
    rows = {int(i): n for n, i in enumerate(ids)}

    def exact(wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = np.array([i for i in wanted.tolist() if i in rows], dtype=np.int64)
        return found, x[[rows[i] for i in found.tolist()]].reshape(len(found), DIM)

    return exact


def ivf(ids: np.ndarray, x: np.ndarray) -> IVFIndex:
    index = IVFIndex.trained(DIM, x, len(x))
    index.exact = exact_from(ids, x)
    index.add(ids, x)
    return index


def flat(ids: np.ndarray, x: np.ndarray) -> FlatIndex:
    index = FlatIndex(DIM)
    index.add(ids, x)
    return index


def test_both_implementations_satisfy_the_protocol():
    x = clustered(3000)
    ids = np.arange(10, 3010)
    assert isinstance(flat(ids, x), VectorIndex) and isinstance(ivf(ids, x), VectorIndex)


def test_flat_and_ann_agree_on_small_data():
    x = clustered(3000)
    ids = np.arange(100, 3100, dtype=np.int64)
    exact, approx = flat(ids, x), ivf(ids, x)
    queries = clustered(100, seed=1)
    e_scores, e_ids = exact.search(queries, 10)
    a_scores, a_ids = approx.search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(a_ids.tolist(), e_ids.tolist(), strict=True)])
    assert recall >= 0.95, recall
    # the ANN's scores are the exact cosines of what it returns (re-ranked by the fp32 vectors)
    both = a_ids[:, 0] == e_ids[:, 0]
    assert both.mean() >= 0.95 and np.allclose(a_scores[both, 0], e_scores[both, 0], atol=1e-5)
    # every stored vector finds itself first
    _, self_ids = approx.search(x[:200], 1)
    assert (self_ids[:, 0] == ids[:200]).all()


@pytest.mark.parametrize("make", [flat, ivf])
def test_deletes_never_come_back(tmp_path, make):
    x = clustered(2000)
    ids = np.arange(1, 2001, dtype=np.int64)
    index = make(ids, x)
    gone = ids[::7]
    index.remove(gone)
    index.remove(gone[:5])  # removing again (or ids never held) changes nothing
    index.remove(np.array([99_999]))
    assert index.ntotal == len(ids) - len(gone)
    _, found = index.search(x[::7], 20)
    assert not set(found.ravel().tolist()) & set(gone.tolist())
    index.save(tmp_path, 3, high_water=2000)
    loaded, why = load(tmp_path, 3, DIM, exact_from(ids, x))
    assert why is None and loaded.kind == index.kind
    _, found = loaded.search(x[::7], 20)
    assert not set(found.ravel().tolist()) & set(gone.tolist())
    assert np.array_equal(loaded.ids(), np.setdiff1d(ids, gone))


@pytest.mark.parametrize("make", [flat, ivf])
def test_add_remove_save_load_round_trip(tmp_path, make):
    x = clustered(2500)
    ids = np.arange(1, 2501, dtype=np.int64)
    index = make(ids[:2000], x[:2000])
    if isinstance(index, IVFIndex):
        index.exact = exact_from(ids, x)  # SQLite would know the rows added below too
    index.apply(ids[:100], ids[2000:], x[2000:])  # one step: 100 out, 500 in
    index.add(ids[2400:2401], x[2400:2401])  # the same id again replaces it, never doubles it
    assert index.ntotal == 2400 and np.array_equal(index.ids(), ids[100:])
    path = index.save(tmp_path, 7, high_water=2500)
    assert path.name == "vectors.g7.faiss" and [p.name for p in tmp_path.iterdir()] == [path.name]
    header = vx.read_header_fields(path)
    assert header["generation"] == 7 and header["high_water"] == 2500 and header["kind"] == index.kind
    assert header["ntotal"] == 2400 and header["token"] == index.token
    loaded, why = load(tmp_path, 7, DIM, exact_from(ids, x))
    assert why is None and loaded.ntotal == 2400 and loaded.high_water == 2500 and loaded.token == index.token
    queries = clustered(50, seed=3)
    assert np.array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])
    # a newer save replaces the older file
    loaded.remove(ids[100:200])
    loaded.save(tmp_path, 8, high_water=2500)
    assert [p.name for p in tmp_path.glob("vectors.g*.faiss")] == ["vectors.g8.faiss"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "wrong-generation", "old-format"])
def test_a_damaged_file_is_refused_with_the_reason(tmp_path, damage):
    x = clustered(500)
    path = flat(np.arange(500), x).save(tmp_path, 4)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        path.write_bytes(raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "wrong-generation":
        path.rename(tmp_path / "vectors.g5.faiss")
    elif damage == "old-format":  # a file of the previous format (magic version 1)
        path.write_bytes(b"FSVEC\x00\x01\n" + raw[8:])
    loaded, why = load(tmp_path, 5 if damage == "wrong-generation" else 4, DIM)
    assert loaded is None
    expected = {"truncate": "truncated", "flip": "checksum mismatch", "empty": "truncated",
                "wrong-generation": "holds generation 4", "old-format": "unknown header"}[damage]
    assert expected in why


def test_build_streams_chunks_and_picks_the_kind_by_size(monkeypatch):
    monkeypatch.setattr(vx, "ANN_THRESHOLD", 1000)
    monkeypatch.setattr(vx, "FLAT_BELOW", 500)
    x = clustered(1500)
    ids = np.arange(1, 1501, dtype=np.int64)
    chunks = [(ids[i : i + 400], x[i : i + 400]) for i in range(0, 1500, 400)]
    big = build(DIM, 1500, iter(chunks), lambda m: x[:m])
    small = build(DIM, 900, iter(chunks[:2]), lambda m: x[:m])
    assert big.kind == "ivf" and big.ntotal == 1500 and np.array_equal(big.ids(), ids)
    assert small.kind == "flat" and small.ntotal == 800
    assert vx.wanted_kind(700, "ivf") == "ivf" and vx.wanted_kind(700, "flat") == "flat"  # hysteresis
    assert vx.wanted_kind(400, "ivf") == "flat"
