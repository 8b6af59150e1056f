"""The lean pipeline (models/onnx_pipeline.py) on OpenVINO, computing in bfloat16 where the CPU has it.

Why: on a CPU with AMX (Intel Xeon 4th generation and later), OpenVINO's bf16 kernels embed passages about
1.8-2.2x as fast as ONNX Runtime's dynamic int8 and 2.9x as fast as fp32 torch, and their vectors are closer to fp32's
(cosine 0.99999 against int8's 0.996; bench/encoders.py, BENCHMARKS.md). The weights are
stored as fp16 (half the fp32 file; OpenVINO widens them as it compiles). Without bf16 in the CPU, OpenVINO
computes in fp32: the same vectors within 1e-5, only slower. For one question at a time on 2 cores ONNX
Runtime's int8 is faster (5.5 against 7 ms, half the CPU time), so ``FUNDSTELLE_ENCODER=auto`` answers with int8
and gives this pipeline the bulk builds (models/encoders.py ``bulk_variant``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from models.onnx_pipeline import LeanPipeline


def bf16_capable(core) -> bool:
    """Whether OpenVINO (``core``, an openvino.Core) computes in bfloat16 on this CPU (AVX512-BF16 or AMX)."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoPipeline(LeanPipeline):
    """The pipeline on OpenVINO's CPU plugin, over an IR file (.xml beside its .bin)."""

    def __init__(self, folder: Path, file: Path, threads: int, tokenizer=None):
        import openvino as ov

        core = ov.Core()
        self.precision = "bf16" if bf16_capable(core) else "f32"
        self.compiled = core.compile_model(str(file), "CPU", {
            "INFERENCE_PRECISION_HINT": self.precision,
            "INFERENCE_NUM_THREADS": threads,  # one forward pass uses every core it is given
            "PERFORMANCE_HINT": "LATENCY",
        })
        self.inputs = {name for port in self.compiled.inputs for name in port.get_names()}
        self._output = self.compiled.outputs[0]  # last_hidden_state
        # An infer request holds its own buffers and may serve one call at a time: one per thread.
        self._requests = threading.local()
        super().__init__(folder, tokenizer)

    def _last_hidden_state(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self.compiled.create_infer_request()
        # copied out: the request's output buffer is reused by its next call
        return np.array(request.infer(feed)[self._output], dtype=np.float32)
