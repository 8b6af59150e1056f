"""The manifest: stable placement, and every mismatch refused with a message that says what to do."""

import json

import pytest

from scaleout.manifest import (
    MANIFEST_NAME,
    ManifestProblem,
    ModelIdentity,
    check,
    create_or_check,
    read_manifest,
    shard_dir,
    shard_of,
)

MODEL = ModelIdentity("/models/multilingual-e5-small", 384, "abc123")


def test_placement_is_stable_and_spreads():
    # Fixed values: a placement that changed between versions would strand articles in the wrong shard.
    assert [shard_of(d, 4) for d in ("a", "001_f0337515d6951f32", "xquad-00-00")] == [
        int.from_bytes(__import__("hashlib").sha1(d.encode()).digest()[:8], "big") % 4
        for d in ("a", "001_f0337515d6951f32", "xquad-00-00")]
    assert shard_of("anything", 1) == 0
    counts = [0, 0, 0]
    for n in range(3000):
        counts[shard_of(f"doc-{n}", 3)] += 1
    assert min(counts) > 900  # about a third each


def test_create_then_check(tmp_path):
    manifest = create_or_check(tmp_path, 3, MODEL)
    assert manifest.shards == 3 and manifest.model_name == "/models/multilingual-e5-small"
    assert read_manifest(tmp_path) == manifest
    assert create_or_check(tmp_path, 3, MODEL) == manifest  # a re-run agrees
    assert shard_dir(tmp_path, 2).name == "shard-002"


def test_mismatches_are_refused(tmp_path):
    create_or_check(tmp_path, 2, MODEL)
    with pytest.raises(ManifestProblem, match="has 2 shards, not 3.*no re-sharding"):
        create_or_check(tmp_path, 3, MODEL)
    with pytest.raises(ManifestProblem, match="was built with model.*configured model"):
        check(read_manifest(tmp_path), ModelIdentity("other", 384, "fff"))
    data = json.loads((tmp_path / MANIFEST_NAME).read_text())
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({**data, "hash": "crc32(doc_id) mod N"}))
    with pytest.raises(ManifestProblem, match="places articles by 'crc32"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{broken")
    with pytest.raises(ManifestProblem, match="is damaged"):
        read_manifest(tmp_path)


def test_missing_manifest_and_single_node_folder(tmp_path):
    with pytest.raises(ManifestProblem, match="manifest.json is missing.*--shards N"):
        read_manifest(tmp_path)
    (tmp_path / "fundstelle.sqlite3").write_bytes(b"")
    with pytest.raises(ManifestProblem, match="single-node index"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestProblem, match="single-node index"):
        create_or_check(tmp_path, 2, MODEL)


def test_model_identity_does_not_embed():
    with pytest.raises(RuntimeError, match="does not embed"):
        MODEL.encode_queries(["x"])
