"""The web page's token commands and query_api's usage reports, applied to `tokens`.

Creating, listing and revoking live in `pitwall.common.tokenstore` (the CLI and the dev
stack use them without a running service).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common.apitokens import token_document
from pitwall.common.events import TokenCommand, TokensUsed
from pitwall.common.logging import get_logger
from pitwall.common.tokenstore import ensure_index, revoke

log = get_logger(__name__)


async def apply_command(tokens: AsyncCollection[dict[str, Any]], cmd: TokenCommand) -> None:
    """A token made or revoked by an admin in the web page. Idempotent: a redelivered
    create finds its token (same id, same hash) and a second revoke finds none active."""
    if cmd.action == "create":
        assert cmd.hash is not None and cmd.role is not None
        doc = token_document(cmd.token_id, cmd.hash, cmd.role, cmd.token_name, created_at=cmd.occurred_at,
                             expires_at=cmd.expires_at, created_by=cmd.actor)
        await ensure_index(tokens)
        await tokens.update_one({"_id": cmd.token_id}, {"$setOnInsert": doc}, upsert=True)
        log.info("token created", token_id=cmd.token_id, role=cmd.role, by=cmd.actor)
    elif await revoke(tokens, cmd.token_id, cmd.occurred_at):
        log.info("token revoked", token_id=cmd.token_id, by=cmd.actor)


async def record_usage(tokens: AsyncCollection[dict[str, Any]], event: TokensUsed) -> None:
    """When each token was last seen (query_api reports in batches, minutes apart)."""
    for token_id, at in event.last_used.items():
        # Only forward: an older report redelivered late changes nothing.
        await tokens.update_one({"_id": token_id, "$or": [{"last_used_at": None}, {"last_used_at": {"$lt": at}}]},
                                {"$set": {"last_used_at": at}})
