"""A big answer sent as its model's own JSON.

A route that returns a model has FastAPI dump it, validate the dump against the
`response_model` again and encode it: three passes over a run's 865-signal tree or 10,000
plot points. The model is already what the route declares, so one pass (pydantic's
`model_dump_json`) is enough; `response_model` still documents it.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_body(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")
