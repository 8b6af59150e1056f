"""Error responses the routes share, documented once for the OpenAPI schema (the ``ErrorBody``
schema itself is registered by :func:`service.errors.install`)."""

ERROR_BODY = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
READ_ERRORS = {
    401: {"description": "A read token is configured and was not given", **ERROR_BODY},
    503: {"description": "The index is still loading or cannot be used", **ERROR_BODY},
}
WRITE_ERRORS = {
    401: {"description": "Missing or wrong bearer token", **ERROR_BODY},
    403: {"description": "Writes are disabled (no FUNDSTELLE_API_TOKEN configured)", **ERROR_BODY},
    413: {"description": "Request body too large", **ERROR_BODY},
    503: {"description": "The index is loading, or another writer holds the lock too long", **ERROR_BODY},
}
