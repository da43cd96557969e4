"""The export's formats, layouts and interpolations, and the suffix of an export's file.

Defined once for the API's request, the event, the export core and the converter. Plain
literals, without pydantic: `pitwall convert` imports this and starts in ~0.1 s less than
it would through the spec's model (`pitwall.common.exportspec`).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

ExportFormat = Literal["mat", "mat73", "csv", "parquet"]
FORMATS: Final[tuple[ExportFormat, ...]] = get_args(ExportFormat)
Interp = Literal["hold", "linear"]
Layout = Literal["struct", "pairs"]

# How a person names each format (what `pitwall convert` says it wrote).
LABEL: Final[dict[ExportFormat, str]] = {
    "mat": "MAT v5",
    "mat73": "MAT v7.3",
    "csv": "CSV",
    "parquet": "Parquet",
}

# The suffix of an export's file: MAT (v5 or v7.3) is one file; CSV and Parquet are one
# table per topic, so a zip of them.
SUFFIX: Final[dict[ExportFormat, str]] = {
    "mat": ".mat",
    "mat73": ".mat",
    "csv": ".zip",
    "parquet": ".zip",
}
