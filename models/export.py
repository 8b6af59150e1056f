"""Export the local model folder to the fast CPU backends, offline, into the folder itself.

    python -m models.export [FOLDER] [--variants onnx,onnx-int8,...] [--force]

Writes, next to the torch weights (names as ``models.encoders.VARIANTS`` expects them):

- ``onnx/model.onnx``: fp32 ONNX, exported by optimum through sentence-transformers;
- ``onnx/model_qint8_avx512_vnni.onnx`` / ``onnx/model_quint8_avx2.onnx``: dynamic int8
  (weights quantised per channel offline, activations per batch at run time; no calibration),
  via sentence-transformers' ``export_dynamic_quantized_onnx_model``;
- ``openvino/model_fp16.xml`` (+ ``.bin``): OpenVINO IR converted from the ONNX file with fp16 weights, run
  in bf16 where the CPU has it (``openvino-bf16``, models/openvino_pipeline.py);
- ``openvino/openvino_model.xml`` (+ ``.bin``): fp32 OpenVINO IR converted from the ONNX file;
- ``openvino/openvino_model_qint8_static.xml``: static int8 by NNCF, calibrated on the bundled
  corpus's paragraphs (sentence-transformers' own helper would download a GLUE dataset for that).

Idempotent: ``onnx/fundstelle_export.json`` records the export version and a digest of the torch
weights; a variant whose file exists and was made from the same weights is kept. Every file is
written to a temporary folder and renamed into place, so an interrupted export leaves no half file.
Nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from models import DEFAULT_MODEL_DIR
from models.encoders import VARIANTS, base_digest, variant_files

EXPORT_VERSION = "1"
MANIFEST = "onnx/fundstelle_export.json"
# What `make install` builds: the two variants `auto` chooses from (int8 in general, bf16 where AMX runs it) and
# their fp32 reference (see BENCHMARKS.md / bench/encoders.py).
DEFAULT_VARIANTS = ("onnx", "onnx-int8", "openvino-bf16")
INT8_CONFIGS = {"onnx-int8": "avx512_vnni", "onnx-int8-avx2": "avx2"}
CALIBRATION_PASSAGES = 300  # static int8 calibration: passages of the bundled corpus (all of them, if fewer)

log = logging.getLogger("fundstelle.export")


def _quiet() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    for name in ("sentence_transformers", "optimum", "nncf"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(folder: Path, data: dict) -> None:
    path = folder / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _install(produced: Iterable[Path], folder: Path, subdir: str) -> None:
    """Rename freshly written files into ``folder/subdir`` (same file system: atomic per file)."""
    target = folder / subdir
    target.mkdir(parents=True, exist_ok=True)
    for path in produced:
        os.replace(path, target / path.name)


def _load(folder: Path, backend: str, **model_kwargs):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", backend=backend, local_files_only=True,
                               model_kwargs=model_kwargs)


def export_onnx(folder: Path, work: Path) -> None:
    model = _load(folder, "onnx", export=True)  # optimum traces the torch model in memory
    model[0].auto_model.save_pretrained(work)  # sentence-transformers puts it under work/onnx/
    _install([work / "onnx" / "model.onnx"], folder, "onnx")


def export_onnx_int8(folder: Path, work: Path, config: str) -> None:
    from sentence_transformers import export_dynamic_quantized_onnx_model

    model = _load(folder, "onnx", file_name="onnx/model.onnx")
    export_dynamic_quantized_onnx_model(model, config, str(work))  # writes work/onnx/model_<suffix>.onnx
    _install(sorted((work / "onnx").glob("model_*.onnx")), folder, "onnx")


def export_openvino(folder: Path, work: Path) -> None:
    import openvino as ov

    model = ov.convert_model(str(folder / "onnx" / "model.onnx"))
    ov.save_model(model, str(work / "openvino_model.xml"), compress_to_fp16=False)
    _install([work / "openvino_model.xml", work / "openvino_model.bin"], folder, "openvino")


def export_openvino_fp16(folder: Path, work: Path) -> None:
    import openvino as ov

    model = ov.convert_model(str(folder / "onnx" / "model.onnx"))
    ov.save_model(model, str(work / "model_fp16.xml"), compress_to_fp16=True)  # the CPU plugin widens them
    _install([work / "model_fp16.xml", work / "model_fp16.bin"], folder, "openvino")


def calibration_texts(limit: int = CALIBRATION_PASSAGES, corpus: Path | None = None) -> list[str]:
    """Paragraphs of the bundled corpus, with the passage prompt, as calibration inputs. (Raw paragraphs,
    not the indexer's passages: the model layer knows nothing of indexing, and static int8 calibration
    only needs text of the kind the model will read.)"""
    corpus = corpus or Path(__file__).resolve().parent.parent / "data" / "corpus"
    texts = [f"passage: {paragraph.strip()}" for path in sorted(corpus.glob("*.txt"))
             for paragraph in path.read_text(encoding="utf-8").split("\n\n") if len(paragraph.strip()) > 80]
    if not texts:
        raise RuntimeError(f"no calibration passages found in {corpus}")
    return texts[:limit]


def export_openvino_int8(folder: Path, work: Path) -> None:
    import nncf
    import openvino as ov
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    core = ov.Core()
    model = core.read_model(str(folder / "openvino" / "openvino_model.xml"))
    names = {i.get_any_name() for i in model.inputs}
    samples = []
    for text in calibration_texts():
        encoded = tokenizer(text, truncation=True, max_length=512, return_tensors="np")
        samples.append({k: v for k, v in encoded.items() if k in names})
    quantized = nncf.quantize(model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(samples))
    ov.save_model(quantized, str(work / "openvino_model_qint8_static.xml"), compress_to_fp16=False)
    _install([work / "openvino_model_qint8_static.xml", work / "openvino_model_qint8_static.bin"],
             folder, "openvino")


def _needs(variant: str) -> list[str]:
    """Variants that must exist first (everything else is made from the fp32 ONNX file)."""
    return {"onnx": [], "openvino": ["onnx"], "openvino-int8": ["openvino"]}.get(variant, ["onnx"])


def export(folder: Path | str = DEFAULT_MODEL_DIR, variants: Iterable[str] = DEFAULT_VARIANTS,
           force: bool = False) -> list[Path]:
    """Export ``variants`` of the model in ``folder`` into it; returns the files of those variants.

    Raises ``FileNotFoundError`` if ``folder`` is not a built model folder, ``ValueError`` for an
    unknown variant.
    """
    folder = Path(folder)
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(f"{folder} is not a sentence-transformers model folder; build it first "
                                "(`make install` runs models/build_e5.py)")
    wanted: list[str] = []
    for name in variants:
        if name not in VARIANTS or VARIANTS[name].backend == "torch":
            raise ValueError(f"unknown export variant {name!r}; choose from "
                             f"{', '.join(n for n, v in VARIANTS.items() if v.backend != 'torch')}")
        for dep in [*_needs(name), name]:
            for d in [*_needs(dep), dep]:
                if d not in wanted:
                    wanted.append(d)
    source = base_digest(folder)
    manifest = _manifest(folder)
    if force or manifest.get("export_version") != EXPORT_VERSION or manifest.get("source") != source:
        manifest = {"export_version": EXPORT_VERSION, "source": source, "variants": {}}
    done: dict = manifest.setdefault("variants", {})

    steps = {"onnx": export_onnx, "openvino": export_openvino, "openvino-int8": export_openvino_int8,
             "openvino-bf16": export_openvino_fp16}
    for name in wanted:
        files = variant_files(folder, VARIANTS[name])
        if name in done and all(p.is_file() for p in files):
            continue
        _quiet()
        started = time.perf_counter()
        (folder / "onnx").mkdir(exist_ok=True)  # temporary files live where the old digest never looks
        with tempfile.TemporaryDirectory(prefix=".export-", dir=folder / "onnx") as tmp:
            if name in INT8_CONFIGS:
                export_onnx_int8(folder, Path(tmp), INT8_CONFIGS[name])
            else:
                steps[name](folder, Path(tmp))
        seconds = round(time.perf_counter() - started, 1)
        done[name] = {"files": [p.relative_to(folder).as_posix() for p in files],
                      "bytes": sum(p.stat().st_size for p in files), "seconds": seconds}
        _write_manifest(folder, manifest)
        print(f"exported {name}: {', '.join(done[name]['files'])} ({seconds} s)", file=sys.stderr)
    _write_manifest(folder, manifest)
    return [p for name in variants for p in variant_files(folder, VARIANTS[name])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"comma-separated, of: {', '.join(n for n in VARIANTS if n != 'torch')}")
    parser.add_argument("--force", action="store_true", help="export again even if the files are current")
    args = parser.parse_args(argv)
    try:
        files = export(args.folder, [v.strip() for v in args.variants.split(",") if v.strip()], args.force)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"model exports ready: {', '.join(str(p.relative_to(args.folder)) for p in files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
