"""Build the reader's serving form offline: ``python -m models.reader.build [--out DIR]`` (run by ``make install``).

The committed weights (models/reader/weights: the trained upper layers in fp16 and the head) are put
back onto the local e5-small folder, the encoder is exported to ONNX and quantised to dynamic int8
with the same helpers the embedding model uses (:mod:`models.export`), and the serving folder gets:

- ``model_int8.onnx``: the encoder with the reader's layers (token vectors out; pooling and head are
  in :class:`models.reader.runtime.Reader`, 385 numbers);
- ``tokenizer.json``: e5's tokenizer;
- ``serving.json``: the head, the recipe, the fusion and calibration (weights/fusion.json), and the
  digests of what it was built from, so a rebuild happens only when those change.

Int8 configuration: chosen for the CPU it is built on (:func:`int8_for_this_cpu`): U8S8 (optimum's
``avx512_vnni`` config) where the CPU has VNNI, U8U8 (``avx2``) elsewhere: U8S8 can saturate on CPUs without
VNNI (ONNX Runtime's quantisation notes). Copy a serving folder only between machines of one kind, or rebuild.
Nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from models.encoders import base_digest
from models.reader.recipe import (
    BASE_MODEL_DIR,
    FUSION_FILE,
    MAX_LENGTH,
    PASSAGE_PROMPT,
    QUERY_PROMPT,
    RECIPE_FILE,
    SERVING_DIR,
    SERVING_MANIFEST,
    SERVING_MODEL,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
)

BUILD_VERSION = "1"
INT8_CONFIGS = {"avx2": "model_quint8_avx2.onnx", "avx512_vnni": "model_qint8_avx512_vnni.onnx"}


def int8_for_this_cpu() -> str:
    """U8S8 (optimum's ``avx512_vnni`` config) where the CPU has VNNI: 3x faster there (7.5 against 24 ms a
    sentence, measured on this project's 2-core machine); U8U8 (``avx2``) elsewhere, whose kernels never
    saturate on CPUs without VNNI. The serving folder is built on the machine that serves (`make install`)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"


DEFAULT_INT8 = int8_for_this_cpu()
ST_FILES = ("tokenizer.json", "tokenizer_config.json", "modules.json", "sentence_bert_config.json",
            "config_sentence_transformers.json")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "absent"


def sources(weights: Path, base: Path, int8: str) -> dict:
    """What the serving form is made from: a change to any of it means a rebuild."""
    return {"build_version": BUILD_VERSION, "int8": int8, "base_digest": base_digest(base),
            "weights": _digest(weights / WEIGHTS_FILE), "recipe": _digest(weights / RECIPE_FILE),
            "fusion": _digest(weights / FUSION_FILE)}


def current(out: Path, wanted: dict) -> bool:
    try:
        manifest = json.loads((out / SERVING_MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("sources") == wanted and (out / SERVING_MODEL).is_file() and (out / "tokenizer.json").is_file()


def build(weights: Path = WEIGHTS_DIR, base: Path = BASE_MODEL_DIR, out: Path = SERVING_DIR,
          int8: str = DEFAULT_INT8, force: bool = False) -> Path:
    """Write the serving form of ``weights`` (on the e5 folder ``base``) to ``out``; returns ``out``.
    Kept as it is when it was built from the same files."""
    weights, base, out = Path(weights), Path(base), Path(out)
    if int8 not in INT8_CONFIGS:
        raise ValueError(f"unknown int8 configuration {int8!r}; one of {', '.join(INT8_CONFIGS)}")
    if not (weights / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"no reader weights in {weights}: train them with `fundstelle model train-reader`")
    if not (base / "modules.json").is_file():
        raise FileNotFoundError(f"{base} is not the e5 model folder; build it first (`fundstelle model build`)")
    wanted = sources(weights, base, int8)
    if not force and current(out, wanted):
        (out / SERVING_MANIFEST).touch()  # newer than its sources: make sees it as done
        return out

    import torch

    from models.export import _quiet, export_onnx, export_onnx_int8
    from models.reader.network import load_delta

    started = time.perf_counter()
    _quiet()
    network, recipe = load_delta(weights, base)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".reader-build-", dir=out.parent) as tmp:
        merged = Path(tmp) / "merged"  # a sentence-transformers folder: e5 with the reader's layers
        network.encoder.save_pretrained(merged)
        for name in ST_FILES:
            shutil.copy2(base / name, merged / name)
        for module in ("1_Pooling", "2_Normalize"):  # modules.json names them; the export reads the encoder only
            shutil.copytree(base / module, merged / module)
        (Path(tmp) / "fp32").mkdir()
        export_onnx(merged, Path(tmp) / "fp32")
        (Path(tmp) / "int8").mkdir()
        export_onnx_int8(merged, Path(tmp) / "int8", int8)
        staging = Path(tmp) / "serving"
        staging.mkdir()
        shutil.move(merged / "onnx" / INT8_CONFIGS[int8], staging / SERVING_MODEL)
        shutil.copy2(base / "tokenizer.json", staging / "tokenizer.json")
        fusion = json.loads((weights / FUSION_FILE).read_text()) if (weights / FUSION_FILE).is_file() else None
        head = network.head
        manifest = {
            "sources": wanted, "max_length": MAX_LENGTH, "query_prompt": QUERY_PROMPT, "passage_prompt": PASSAGE_PROMPT,
            "head": {"weight": head.weight.detach().to(torch.float32).reshape(-1).tolist(),
                     "bias": float(head.bias.detach()[0])},
            "recipe": {k: recipe[k] for k in ("recipe", "trainable_layers", "steps", "groups") if k in recipe},
            "fusion": fusion, "seconds": round(time.perf_counter() - started, 1),
        }
        (staging / SERVING_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)  # same file system: the folder appears whole or not at all
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--base", type=Path, default=BASE_MODEL_DIR)
    parser.add_argument("--out", type=Path, default=SERVING_DIR)
    parser.add_argument("--int8", choices=sorted(INT8_CONFIGS), default=DEFAULT_INT8)
    parser.add_argument("--force", action="store_true", help="build again even if the serving form is current")
    args = parser.parse_args(argv)
    try:
        out = build(args.weights, args.base, args.out, args.int8, args.force)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"reader ready: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
