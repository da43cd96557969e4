"""What the backup service does with each event it consumes; its queue's bindings are these.

Light on purpose: every publisher reads HANDLERS to declare the backup queue (see
`pitwall.common.broker.handlers`), so the work is reached through Backups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pitwall.common.broker.handlers import Handlers
from pitwall.common.events import BackupDue

if TYPE_CHECKING:
    from pitwall.backup.app import Backups

HANDLERS: Handlers[Backups] = Handlers("backup")


@HANDLERS.on(BackupDue)
async def backup_due(backups: Backups, event: BackupDue) -> None:
    await backups.make(event)
