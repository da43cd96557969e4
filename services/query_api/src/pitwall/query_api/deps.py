"""What routes declare as parameters besides the request's own: the shared resources,
the caller's guard (one alias per permission) and the per-process signal-manifest cache.

Defined once here and imported by every router, so a route says `res: Res, who: Reader`
and `tests/integration/test_api_guards.py` finds the same `Guard` in each of them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pitwall.query_api.auth import Permission, Principal, require
from pitwall.query_api.resources import Resources, resources
from pitwall.query_api.series import ManifestCache

__all__ = [
    "Admin", "Editor", "Exporter", "Manifests", "Reader", "Res", "Resources", "Uploader", "resources",
]

Res = Annotated[Resources, Depends(resources)]

Reader = Annotated[Principal, Depends(require(Permission.read))]
Exporter = Annotated[Principal, Depends(require(Permission.export))]
Uploader = Annotated[Principal, Depends(require(Permission.upload))]
Editor = Annotated[Principal, Depends(require(Permission.edit))]
Admin = Annotated[Principal, Depends(require(Permission.admin))]


def manifest_cache(request: Request) -> ManifestCache:
    """One cache per app (made on first use): signals, series and compare share it."""
    cache: ManifestCache | None = getattr(request.app.state, "manifests", None)
    if cache is None:
        cache = request.app.state.manifests = ManifestCache()
    return cache


Manifests = Annotated[ManifestCache, Depends(manifest_cache)]
