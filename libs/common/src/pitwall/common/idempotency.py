"""Durable idempotency keys in MongoDB, for the consumer helper."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class MongoIdempotencyStore:
    """Remembers processed message keys. `_id` is the key, so marking is atomic."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def seen(self, key: str) -> bool:
        return await self.collection.find_one({"_id": key}, projection={"_id": 1}) is not None

    async def mark(self, key: str) -> None:
        try:
            await self.collection.insert_one({"_id": key, "at": datetime.now(UTC)})
        except DuplicateKeyError:
            pass
