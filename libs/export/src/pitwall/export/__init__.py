"""The export core: a Recording to MAT v5 / v7.3, CSV or Parquet files.

A library, not a service: `pitwall convert` and the converter service import it, and it
imports only `pitwall.common`. The entry point is `recording.export_recording`.
"""
