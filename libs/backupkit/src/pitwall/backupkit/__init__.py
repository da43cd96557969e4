"""The backup core: backup, list, verify, restore, prune and the restore drill.

A library, not a service: the backup service (its schedule, claims and events) and
`pitwall backup` both call it, and it imports only `pitwall.common`. The entry points
are in `core` (run_backup, list_backups, verify, restore, prune) and `drill.drill`.
"""
