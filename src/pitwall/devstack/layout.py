"""What `pitwall dev up` keeps in its data dir (default `.pitwall/` in the checkout).

The supervisor writes these files and the CLI reads them to find the stack it belongs
to (`pitwall.cli.stack`); both take the names from here.
"""

from __future__ import annotations

DEFAULT_DATA_DIR = ".pitwall"
# PITWALL_* of the running stack, in dotenv form (`set -a; . .pitwall/env` loads it too).
ENV_FILE = "env"
# The dev stack's restic key: made once, never in the env file (a real deployment keeps
# PITWALL_BACKUP_PASSWORD in the team's password manager, never beside the backups).
BACKUP_KEY = "backup-key"
ADMIN_TOKEN = "admin-token"
STATION_TOKEN = "station-token"
