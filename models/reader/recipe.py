"""What the reader reads and where its files live: shared by training, the serving build and the runtime,
so all three tokenise a (question, sentence) pair the same way."""

from __future__ import annotations

from pathlib import Path

from models import DEFAULT_MODEL_DIR
from models.onnx_pipeline import set_truncation_and_padding

HERE = Path(__file__).resolve().parent
WEIGHTS_DIR = HERE / "weights"  # committed: the fine-tuned upper layers and head (fp16), the fusion, the card
SERVING_DIR = HERE / "serving"  # built by `make install` (models/reader/build.py), not committed
BASE_MODEL_DIR = DEFAULT_MODEL_DIR  # the e5-small folder the committed layers sit on
WEIGHTS_FILE = "reader.safetensors"
RECIPE_FILE = "reader.json"  # how the weights were trained, and what they need (base digest, layers)
FUSION_FILE = "fusion.json"  # the fused ranking and the calibration, fitted on held-out train questions
SERVING_MODEL = "model_int8.onnx"  # the whole encoder with the committed layers, dynamic int8
SERVING_MANIFEST = "serving.json"

# e5's own prompts: the question is read as a query, the sentence as a passage.
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_LENGTH = 128  # tokens of question + sentence; a sentence input is ~40-60 tokens, a question ~15-25
PAD_ID = 1  # XLM-R's <pad>


def pair(question: str, sentence: str) -> tuple[str, str]:
    """The two texts of one reading: the question, and a sentence as text.inputs.sentence_input builds it."""
    return QUERY_PROMPT + question.strip(), PASSAGE_PROMPT + sentence.strip()


def tokenizer(folder: Path):
    """The e5 tokenizer of ``folder`` (tokenizer.json), truncating pairs to MAX_LENGTH and padding to the
    longest of a batch."""
    from tokenizers import Tokenizer

    return configure(Tokenizer.from_file(str(Path(folder) / "tokenizer.json")))


def configure(tok):
    """Set the reader's truncation and padding on ``tok`` (a tokenizer shared with the encoder is set again before
    each reading, under the lock they share)."""
    return set_truncation_and_padding(tok, MAX_LENGTH, PAD_ID, "<pad>")
