"""The encoder variants `make install` produces, on the real model folder.

Cosine floor: dynamic int8 changes the vectors a little (the benchmark measures a mean cosine to
fp32 torch of about 0.996 over 1,100 news passages, min about 0.98); 0.97 per text leaves room for
odd texts while any real breakage (wrong file, wrong pooling, missing prompt) lands far below
(unrelated texts score about 0.7-0.8 with e5). fp32 backends must agree to float noise (0.999).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.settings import Settings
from models import DEFAULT_MODEL_DIR
from models.encoders import (
    VARIANTS,
    EncoderUnavailable,
    SentenceEncoder,
    cpu_cores,
    exported_variants,
    folder_dim,
    load_encoder,
    passage_spans,
)
from models.export import DEFAULT_VARIANTS
from models.onnx_pipeline import SMALL_PASS_TOKENS, OnnxPipeline
from text.inputs import embedding_input

PASSAGES = [
    embedding_input("Nordkorea verstärkt militärische Unterstützung für Russland", None,
                    "Der ukrainische Militärgeheimdienst HUR geht davon aus, dass mehr als 10.000 nordkoreanische "
                    "Soldaten in Russland sind. Sie sollen in der Region Kursk eingesetzt werden."),
    embedding_input("Wetter", "Ausblick", "Am Wochenende wird es sonnig. Die Temperaturen steigen auf 25 Grad."),
    "How many North Korean soldiers are in Russia? Nobody knows for sure.",
]
QUERIES = ["Wie viele nordkoreanische Soldaten sind in Russland?", "Wie wird das Wetter?"]
FP32 = {"torch", "onnx", "openvino", "openvino-bf16"}  # bf16 arithmetic: cosine 0.99999 to fp32
FLOOR = {True: 0.999, False: 0.97}  # fp32 / int8


def installed() -> list[str]:
    """What `make install` builds, plus whatever else was exported into the folder."""
    return sorted(set(["torch", *DEFAULT_VARIANTS]) | set(exported_variants(DEFAULT_MODEL_DIR)))


@pytest.fixture(scope="module")
def encoders(torch_encoder, embedder) -> dict[str, SentenceEncoder]:
    """Every installed variant; torch and the configured one are the models the other tests loaded already."""
    loaded = {"torch": torch_encoder}
    if embedder.folder == DEFAULT_MODEL_DIR:
        loaded[embedder.encoder] = embedder
    return {name: loaded.get(name) or SentenceEncoder(DEFAULT_MODEL_DIR, name) for name in installed()}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of the passage text (the tail of each PASSAGES input) for the tests."""
    out, start = [], 0
    for n, ch in enumerate(text):
        if ch in ".?" and (n + 1 == len(text) or text[n + 1] == " "):
            out.append((start, n + 1))
            start = n + 2
    return out


def spans_of(model_input: str) -> list[tuple[int, int]]:
    text = model_input.split("\n", 1)[-1]
    return passage_spans(model_input, text, sentence_spans(text))


@pytest.mark.parametrize("name", installed())
def test_vectors_are_normalised_and_close_to_torch(encoders, name):
    enc, torch_enc = encoders[name], encoders["torch"]
    assert enc.dim == 384
    for got, ref in ((enc.encode_passages(PASSAGES), torch_enc.encode_passages(PASSAGES)),
                     (enc.encode_queries(QUERIES), torch_enc.encode_queries(QUERIES))):
        assert got.dtype == np.float32 and got.shape == ref.shape
        assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-4)
        assert (got * ref).sum(axis=1).min() >= FLOOR[name in FP32]
    # the query finds its passage on every backend
    assert int(np.argmax(enc.encode_passages(PASSAGES[:2]) @ enc.encode_queries(QUERIES[:1])[0])) == 0


def test_empty_input(encoders):
    enc = encoders[DEFAULT_VARIANTS[-1]]
    assert enc.encode_passages([]).shape == (0, 384)
    passages, sentences = enc.encode_passages_with_sentences([], [])
    assert passages.shape == (0, 384) and sentences == []


def test_fingerprints_differ_across_variants_and_are_stable(encoders):
    prints = {name: enc.fingerprint for name, enc in encoders.items()}
    assert len(set(prints.values())) == len(prints), prints
    for name in prints:  # a fresh instance (another process, another path spelling) agrees
        assert SentenceEncoder(str(DEFAULT_MODEL_DIR) + "/", name).fingerprint == prints[name]


def test_torch_fingerprint_ignores_exports(encoders, tmp_path):
    """Exports live in the model folder; the torch fingerprint (indexes built before them) must not move."""
    from models.encoders import base_digest

    digest = base_digest(DEFAULT_MODEL_DIR)
    (DEFAULT_MODEL_DIR / "onnx" / ".probe-not-a-model").write_text("x")
    try:
        assert base_digest(DEFAULT_MODEL_DIR) == digest
    finally:
        (DEFAULT_MODEL_DIR / "onnx" / ".probe-not-a-model").unlink()


@pytest.mark.parametrize("method", ["late", "separate"])
@pytest.mark.parametrize("name", installed())
def test_sentence_vectors(encoders, name, method):
    enc = encoders[name]
    spans = [spans_of(p) for p in PASSAGES]
    passages, sentences = enc.encode_passages_with_sentences(PASSAGES, spans, method=method)
    assert np.allclose(passages, enc.encode_passages(PASSAGES), atol=2e-3)  # the same passage vectors
    assert [s.shape for s in sentences] == [(len(ss), 384) for ss in spans]
    for block in sentences:
        assert block.dtype == np.float32
        assert np.allclose(np.linalg.norm(block, axis=1), 1, atol=1e-4)
    # the sentence about soldiers in Russia beats the one about Kursk for the soldiers question
    query = enc.encode_queries(QUERIES[:1])[0]
    assert int(np.argmax(sentences[0] @ query)) == 0


def test_pooled_passage_vectors_are_the_mean_of_their_sentences(encoders):
    enc = encoders["onnx-int8"] if "onnx-int8" in encoders else next(iter(encoders.values()))
    spans = [spans_of(p) for p in PASSAGES]
    passages, sentences = enc.encode_passages_with_sentences(PASSAGES, spans, method="pooled")
    for text, own, block, vector in zip(PASSAGES, spans, sentences, passages, strict=True):
        alone = enc.encode_passages([text[s:e] for s, e in own])  # another batch: int8 scales differ a little
        assert np.all(np.sum(block * alone, axis=1) > 0.99)
        mean = sum((e - s) * row for (s, e), row in zip(own, block, strict=True))
        assert np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)


def test_late_sentence_of_a_one_sentence_passage_is_close_to_the_passage(encoders):
    enc = encoders["torch"]
    text = "Am Wochenende wird es sonnig und warm."
    passages, sentences = enc.encode_passages_with_sentences([text], [[(0, len(text))]])
    assert float(sentences[0][0] @ passages[0]) > 0.99  # same tokens but the prompt's: nearly the same mean


def test_passage_spans_shift_by_the_context_line():
    text = "Satz eins. Satz zwei."
    model_input = embedding_input("Titel", "Kopf", text)
    shifted = passage_spans(model_input, text, [(0, 10), (11, 21)])
    assert [model_input[s:e] for s, e in shifted] == ["Satz eins.", "Satz zwei."]
    with pytest.raises(ValueError):
        passage_spans("anderer Text", text, [(0, 10)])


def test_the_width_is_read_from_the_folder_as_the_model_states_it(encoders):
    fresh = load_encoder(Settings())
    assert fresh.dim == encoders["torch"].model.get_sentence_embedding_dimension() == 384
    assert "model" not in vars(fresh)  # opening an index needs the width: `fundstelle list` loads no model


def test_a_pipeline_that_may_change_the_width_asks_the_model(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 384}')
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert folder_dim(tmp_path) == 384  # mean pooling, sentence-transformers' default
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert folder_dim(tmp_path) is None


def test_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(EncoderUnavailable, match="FUNDSTELLE_MODEL.*make install"):
        load_encoder(Settings(model=str(tmp_path / "nowhere")))


def test_hub_name_fails_at_once_offline():
    with pytest.raises(EncoderUnavailable, match="not a local folder.*never downloads"):
        load_encoder(Settings(model="intfloat/multilingual-e5-small"))


def test_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(EncoderUnavailable, match="not a sentence-transformers folder"):
        SentenceEncoder(tmp_path, "torch")


def test_missing_export_names_the_export_command(tmp_path):
    (tmp_path / "modules.json").write_text("[]")
    with pytest.raises(EncoderUnavailable, match=r"onnx/model_qint8_avx512_vnni.onnx.*models.export"):
        SentenceEncoder(tmp_path, "onnx-int8")


def test_unreadable_model_is_one_clear_error(tmp_path):
    (tmp_path / "modules.json").write_text("not json")
    (tmp_path / "config.json").write_text("{}")
    encoder = SentenceEncoder(tmp_path, "torch")
    with pytest.raises(EncoderUnavailable, match="cannot load FUNDSTELLE_MODEL"):
        _ = encoder.dim


def test_unknown_encoder_names_the_choices():
    with pytest.raises(EncoderUnavailable, match="FUNDSTELLE_ENCODER.*onnx-int8"):
        SentenceEncoder(DEFAULT_MODEL_DIR, "tensorrt")


def test_every_variant_is_declared():
    assert set(DEFAULT_VARIANTS) <= set(VARIANTS)


@pytest.mark.parametrize("name", sorted({"onnx-int8", "openvino-bf16"} & set(installed())))
def test_encoder_threads_setting_reaches_the_session(monkeypatch, name):
    """FUNDSTELLE_ENCODER_THREADS sets one forward pass's threads; unset, every core."""
    monkeypatch.setenv("FUNDSTELLE_ENCODER_THREADS", "1")
    one = load_encoder(Settings(encoder=name))
    assert one.threads == 1
    if name == "onnx-int8":  # the lean pipeline's own session (models/onnx_pipeline.py)
        assert one._model_kwargs()["session_options"].intra_op_num_threads == 1
        assert one.pipeline.session.get_session_options().intra_op_num_threads == 1
    else:
        assert one.pipeline.compiled.get_property("INFERENCE_NUM_THREADS") == 1
    monkeypatch.delenv("FUNDSTELLE_ENCODER_THREADS")
    assert load_encoder(Settings(encoder=name)).threads == cpu_cores()


@pytest.mark.skipif("onnx-int8" not in installed(), reason="the int8 export is not built")
def test_a_question_runs_on_one_core_a_long_pass_on_all_with_the_same_vectors(encoders):
    """A small pass (a question) goes to a one-thread session, a long one to the every-core session; both share
    the word embeddings and give the same vectors to the last bit."""
    pipeline = OnnxPipeline(DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR / VARIANTS["onnx-int8"].file, threads=2)
    assert pipeline.small_session.get_session_options().intra_op_num_threads == 1
    assert pipeline.session.get_session_options().intra_op_num_threads == 2
    assert [name for name, _ in pipeline._shared] == ["embeddings.word_embeddings.weight_quantized"]
    question, passage = "query: Wie viele Soldaten sind in Russland?", "passage: " + "Nordkorea liefert Raketen. " * 30
    for text, small in ((question, True), (passage, False)):
        ids, mask = pipeline.tokenize([text])
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        assert (ids.size <= SMALL_PASS_TOKENS) is small
        assert np.array_equal(pipeline.small_session.run(None, feed)[0], pipeline.session.run(None, feed)[0])
    single = OnnxPipeline(DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR / VARIANTS["onnx-int8"].file, threads=1)
    assert single.small_session is single.session and not single._shared  # one core: one session
    ids, mask = pipeline.tokenize([question])
    assert np.array_equal(pipeline.embed(ids, mask), encoders["onnx-int8"].encode_queries([question[7:]]))


def test_auto_answers_with_the_variant_that_built_the_index_and_bulk_builds_with_bf16_on_amx(monkeypatch, encoders):
    """FUNDSTELLE_ENCODER=auto: an existing index (its recorded fingerprint) gets the variant that built it, a new
    one onnx-int8; where the CPU has AMX, calls of BULK_TEXTS texts or more go to OpenVINO bf16."""
    import models.encoders as encoders_module

    monkeypatch.setattr(encoders_module, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    plain = load_encoder(Settings(encoder="auto"))
    assert (plain.encoder, plain.bulk) == ("onnx-int8", None) and plain.vectors_id == plain.fingerprint
    if "openvino-bf16" in installed():
        monkeypatch.setattr(encoders_module, "cpu_flags", lambda: {"avx2", "avx512_vnni", "amx_bf16"})
        amx = load_encoder(Settings(encoder="auto"))
        assert (amx.encoder, amx.bulk) == ("onnx-int8", "openvino-bf16")
        assert amx.fingerprint == encoders["onnx-int8"].fingerprint  # the index records int8's: interchangeable
        assert amx.vectors_id != amx.fingerprint  # but caches of vectors tell them apart
        assert amx.description == "onnx-int8 (bulk: openvino-bf16)"
    for name in ("onnx-int8", "torch", "onnx"):
        chosen = load_encoder(Settings(encoder="auto"), built_with=encoders[name].fingerprint)
        assert chosen.encoder == name and chosen.fingerprint == encoders[name].fingerprint
    # a fingerprint no variant here has (another model): int8, and opening the index says why
    assert load_encoder(Settings(encoder="auto"), built_with="0" * 16).encoder == "onnx-int8"
    # an explicit choice is never overridden, and has no bulk helper
    explicit = load_encoder(Settings(encoder="torch"), built_with=encoders["onnx-int8"].fingerprint)
    assert (explicit.encoder, explicit.bulk) == ("torch", None)


def test_bulk_calls_go_to_the_bulk_variant_with_the_same_tokenizer(encoders):
    from models.encoders import BULK_TEXTS

    if "openvino-bf16" not in encoders:
        pytest.skip("openvino-bf16 is not exported here")
    mixed = SentenceEncoder(DEFAULT_MODEL_DIR, "onnx-int8", bulk="openvino-bf16")
    many = [f"{PASSAGES[n % len(PASSAGES)]} ({n})" for n in range(BULK_TEXTS)]
    few = mixed.encode_passages(many[:3])
    assert "_bulk" not in vars(mixed)  # a few texts (a question, one written article): no OpenVINO loaded
    np.testing.assert_allclose(few, encoders["onnx-int8"].encode_passages(many[:3]), atol=1e-5)
    bulk = mixed.encode_passages(many)
    assert mixed._bulk.pipeline.tokenizer is mixed.pipeline.tokenizer  # lent, not a second 280 MB copy
    assert mixed._bulk._tokenizer_lock is mixed._tokenizer_lock
    np.testing.assert_allclose(bulk[:8], encoders["openvino-bf16"].encode_passages(many[:8]), atol=2e-3)
    assert (bulk[:3] * few).sum(axis=1).min() > 0.99  # interchangeable with int8's own
    with pytest.raises(ValueError, match="not interchangeable"):
        SentenceEncoder(DEFAULT_MODEL_DIR, "onnx-int8", bulk="openvino-int8")


def test_a_bulk_builds_passages_and_sentences_go_to_the_bulk_variant_together(encoders):
    """The last batch of a bulk build may hold few passages and many sentences: both passes are the build's."""
    from models.encoders import BULK_TEXTS

    if "openvino-bf16" not in encoders:
        pytest.skip("openvino-bf16 is not exported here")
    mixed = SentenceEncoder(DEFAULT_MODEL_DIR, "onnx-int8", bulk="openvino-bf16")
    texts = PASSAGES[:1] * 8  # 8 passages of 32 sentences each: 264 texts in the call
    sentences = [[f"Satz {n} von Absatz {i}." for n in range(BULK_TEXTS // 8)] for i in range(8)]
    spans = [[(0, 1)] * len(own) for own in sentences]
    calls = []
    for encoder in (mixed, mixed._bulk):
        encoder._encode = (lambda original, who: lambda texts, *a: calls.append((who, len(texts))) or
                           original(texts, *a))(encoder._encode, "bulk" if encoder is not mixed else "int8")
    mixed.encode_passages_with_sentences(texts, spans, method="separate", sentence_texts=sentences)
    assert [who for who, _ in calls] == ["bulk", "bulk"] and calls[0][1] == 8  # 8 passages, on bf16 too
    calls.clear()
    mixed.encode_passages_with_sentences(texts[:1], [[(0, 1)] * 2], method="separate",
                                         sentence_texts=[["Eins.", "Zwei."]])
    assert [who for who, _ in calls] == ["int8", "int8"]  # one written article stays on the serving variant


def test_auto_without_exports_names_what_to_run(tmp_path):
    for name in ("modules.json", "config.json"):
        (tmp_path / name).write_bytes((DEFAULT_MODEL_DIR / name).read_bytes())
    from models.encoders import auto_variant

    assert auto_variant(tmp_path) == "onnx-int8"
    with pytest.raises(EncoderUnavailable, match="make install"):
        load_encoder(Settings(model=str(tmp_path), encoder="auto"))


def test_openvino_bf16_embeds_as_fp32_does(encoders):
    """The OpenVINO pipeline: prompts, stripping, truncation at 512 tokens and mean pooling as the fp32 ONNX file
    gives them, to bf16's precision (cosine 0.99999 measured; fp32 arithmetic where the CPU has no bf16)."""
    if "openvino-bf16" not in encoders:
        pytest.skip("openvino-bf16 is not exported here")
    bf16, fp32 = encoders["openvino-bf16"], encoders["onnx"]
    texts = [*PASSAGES, "  Leerzeichen ringsum  ", "Wort " * 700]
    for encode in ("encode_passages", "encode_queries"):
        got, ref = getattr(bf16, encode)(texts), getattr(fp32, encode)(texts)
        assert (got * ref).sum(axis=1).min() > 0.9995
        alone = getattr(bf16, encode)(texts[:1])  # a question alone: no batch effect beyond float noise
        assert float(alone[0] @ got[0]) > 0.99999
    assert bf16.pipeline.precision in ("bf16", "f32")


def test_onnx_variants_embed_without_sentence_transformers_as_it_would(encoders):
    """The lean ONNX path (no torch, no sentence-transformers in a serving process) gives the vectors
    sentence-transformers gives on the same file: prompts, stripping, truncation at 512 tokens, mean pooling.
    (The int8 file; the other ONNX files go through the same code.)"""
    encoder = encoders["onnx-int8"]
    assert encoder.pipeline is not None
    texts = [*PASSAGES, "  Leerzeichen ringsum  ", "Wort " * 700]  # the last one is past the 512-token window
    for prompt_name, encode in (("passage", encoder.encode_passages), ("query", encoder.encode_queries)):
        reference = encoder.model.encode(texts, prompt_name=prompt_name, normalize_embeddings=True,
                                         convert_to_numpy=True)
        np.testing.assert_allclose(encode(texts), reference, atol=2e-5)
        alone = encoder.model.encode(texts[:1], prompt_name=prompt_name, normalize_embeddings=True,
                                     convert_to_numpy=True)  # (dynamic int8 scales each batch as a whole)
        np.testing.assert_allclose(encode(texts[:1]), alone, atol=2e-5)  # a question alone
    lengths = encoder._token_lengths(texts, "passage")
    assert lengths[-1] == 512 and all(0 < n < 512 for n in lengths[:-1])


def test_a_serving_process_imports_neither_torch_nor_sentence_transformers():
    """Embedding a question and reading with the reader (what a question needs) in a fresh process; nor OpenVINO,
    which only a bulk build loads (FUNDSTELLE_ENCODER=auto on a CPU with AMX)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from core.settings import Settings\n"
        "from models.encoders import load_encoder\n"
        "from models.reader import load_reader\n"
        "encoder = load_encoder(Settings())\n"
        "encoder.encode_queries(['Wie viele Soldaten?']); encoder.encode_passages(['a', 'b c'])\n"
        "reader = load_reader(Settings(), encoder)\n"
        "reader.score('Wie viele Soldaten?', ['Es sind 10.000 Soldaten.'])\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'openvino') if m in sys.modules))\n"
    )
    if VARIANTS[load_encoder(Settings()).encoder].lean is None:
        pytest.skip("the configured encoder runs through sentence-transformers")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_only_the_plain_pipeline_runs_without_sentence_transformers(tmp_path):
    from models.onnx_pipeline import lean_pipeline_fits

    assert lean_pipeline_fits(DEFAULT_MODEL_DIR)
    for name in ("modules.json", "sentence_bert_config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((DEFAULT_MODEL_DIR / name).read_bytes())
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((DEFAULT_MODEL_DIR / "1_Pooling" / "config.json").read_text())
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert lean_pipeline_fits(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(
        pooling | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert not lean_pipeline_fits(tmp_path)  # CLS pooling: sentence-transformers runs it
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    modules = json.loads((tmp_path / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert not lean_pipeline_fits(tmp_path)  # a Dense layer
