"""The synth CAN description in the dev stack's channel catalogue, so sample runs show units.

Uploaded through the API like a team member would (`POST /api/v1/catalogue/sources`), once:
when a source of that name is listed, deleted ones included, nothing is sent, so a restart
never brings back a description someone deleted or adds a second version of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from pitwall.synth.can_description import FILENAME, write_can_description

SOURCES = "/api/v1/catalogue/sources"


def _names(listed: dict[str, Any]) -> set[str]:
    return {str(source["name"]) for source in listed["items"]}


def add_synth_can_description(base_url: str, token: str, folder: Path, timeout: float = 30.0) -> str:
    """Writes the description into `folder` and uploads it unless listed; a line saying what happened.

    Raises httpx.HTTPError (an HTTPStatusError names the status) when the API refuses or is away.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = write_can_description(folder)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client:
        listed = client.get(SOURCES)
        listed.raise_for_status()
        if FILENAME in _names(listed.json()):
            return f"CAN description {FILENAME} is already in the catalogue"
        made = client.post(SOURCES, files={"file": (FILENAME, path.read_bytes(), "text/plain")})
        made.raise_for_status()  # 202: ingest stores it within moments
        body = made.json()
    return (f"CAN description {FILENAME} added to the catalogue: {body['messages']} messages, "
            f"{body['signals']} signals, naming {body['matched']} signal keys of existing runs")
