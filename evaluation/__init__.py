"""Measuring retrieval quality: data sets (:mod:`evaluation.datasets`), cached evaluation indexes
(:mod:`evaluation.indexes`), the question loop and metrics (:mod:`evaluation.harness`), and the
`fundstelle eval` command (:mod:`evaluation.command`). Shared by the CLI, the tests and ``bench/``."""
