"""Training the reading model (models/reader) and fitting what sits on top of it.

- :mod:`training.data`: question/sentence groups from the XQuAD ``train`` articles, squad-it,
  squad2 and klexikon (never the XQuAD ``eval`` articles, the bundled corpus or data/questions);
- :mod:`training.reader`: the training run behind ``fundstelle model train-reader``;
- :mod:`training.candidates`, :mod:`training.fusion`, :mod:`training.measure`: the product's first
  stage over an index, the reader's scores on its candidates, the fused ranking and the calibration,
  fitted on held-out ``train`` questions and measured on the ``eval`` articles and the bundled set.

It sits beside :mod:`evaluation` in the layers: it may import models, store, text, retrieval,
indexer and evaluation, and nothing at run time imports it.
"""
