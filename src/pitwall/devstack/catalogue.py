"""The synth CAN description in the dev stack's channel catalogue, so sample runs show units.

Uploaded through the API like a team member would (`POST /api/v1/catalogue/sources`), once:
a source of the same name already listed is left alone, so a description the team edited or
replaced in the stack is never overwritten by a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from pitwall.synth.can_description import FILENAME, write_can_description

SOURCES = "/api/v1/catalogue/sources"


def _names(listed: Any) -> set[str]:
    items = listed.get("sources") or listed.get("items") or [] if isinstance(listed, dict) else listed
    return {str(s.get("name")) for s in items or [] if isinstance(s, dict)}


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
        made.raise_for_status()
        body = made.json()
    return (f"CAN description {FILENAME} added to the catalogue: {body.get('messages')} messages, "
            f"{body.get('signals')} signals, {body.get('matched')} matched")
