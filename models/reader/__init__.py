"""The reading model: a cross-encoder over (question, sentence) trained here from e5-small
(training/reader.py, models/reader/MODEL_CARD.md). ``make install`` builds its serving form
(models/reader/build.py); :class:`Reader` scores sentences with it."""

from models.reader.runtime import Reader, ReaderUnavailable, load_reader

__all__ = ["Reader", "ReaderUnavailable", "load_reader"]
