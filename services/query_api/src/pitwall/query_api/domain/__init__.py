"""What the API knows and decides, behind the routers.

Each module owns the MongoDB reads (through `pitwall.query_api.readmodel`) and the rules of
one subject: runs, events on runs, signals, exports, uploads, stations, tokens, backups,
ops and readiness. They answer the API's models (or raise its errors: `invalid`,
`not_found`), so a router only translates HTTP to one call and back.
"""
