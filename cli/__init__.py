"""The `fundstelle` command (:mod:`cli.main`): the top layer, beside the HTTP service."""
