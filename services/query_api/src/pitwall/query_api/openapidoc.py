"""The OpenAPI document as the contract: what the models alone cannot say is added here.

- FastAPI's own 422 schema (`HTTPValidationError`) gains the `code` every error carries;
- the upload size limit is a setting, not a constant of the models: it is written into
  the schemas of the bodies that declare a file size, so a schema-valid size is one the
  server takes (`tests/integration/test_api_schema.py` holds the document to that).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pitwall.common.settings import Settings
from pitwall.query_api.errors import CODE_DOC

# Bodies whose `size` is the whole file's, limited by `upload_max_bytes`.
_SIZED_BODIES = ("ResumableOpen", "ResumableComplete")


def install(app: FastAPI, settings: Settings) -> None:
    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes,
            )
            complete(doc, settings)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def complete(doc: dict[str, Any], settings: Settings) -> None:
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    fastapi_422 = schemas.get("HTTPValidationError")
    if fastapi_422 is not None:
        fastapi_422.setdefault("properties", {})["code"] = {"$ref": "#/components/schemas/ErrorCode",
                                                            "description": CODE_DOC}
        fastapi_422["required"] = sorted({*fastapi_422.get("required", []), "code", "detail"})
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                _not_null(parameter)
    limit = settings.upload_max_bytes
    for name in _SIZED_BODIES:
        size = schemas.get(name, {}).get("properties", {}).get("size")
        if size is not None:
            size["maximum"] = limit
            size["description"] = f"{size.get('description', 'bytes of the whole file')}; at most {limit} (413 above)"


def _not_null(parameter: dict[str, Any]) -> None:
    # `str | None = None` makes FastAPI write `anyOf: [string, null]`, but a header or a
    # query parameter cannot be null: left out is how it is not given. (schemathesis sends
    # the word "null" otherwise, which the server rightly refuses.)
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return
    rest = [o for o in options if o != {"type": "null"}]
    del schema["anyOf"]
    if len(rest) == 1:
        schema.update(rest[0])
    else:
        schema["anyOf"] = rest
