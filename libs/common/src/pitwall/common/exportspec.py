"""What to export, defined once: the API's request extends it, the event carries it.

`ExportSpec` holds the fields that say WHAT is exported (runs, selection, resampling,
format, layout). The window is not part of it: the API's request asks for it (start/end
or a run event) and resolves it, the `conversion.requested` event carries the resolved
seconds. The constraints are the API's: the event is made from a validated request, so it
satisfies them too, and a hand-made event is held to the same bounds.

The literals of its fields (format, interp, layout) are in `pitwall.common.exportformats`,
which the export core imports without pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from pitwall.common.exportformats import ExportFormat, Interp, Layout

RunId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
SignalGlob = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ExportSpec(BaseModel):
    """The fields shared by `ExportRequest` (HTTP) and `ConversionRequested` (the bus).

    No model config of its own: each subclass keeps its own (the event is frozen)."""

    runs: Annotated[list[RunId], Field(min_length=1, max_length=100)]
    signals: Annotated[list[SignalGlob], Field(max_length=2000)] = Field(
        default_factory=list,
        description="globs over `topic:path` (e.g. `VNData:vn_vel.*`); empty = all",
    )
    topics: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="regular expression over topic names"
    )
    resample_hz: Annotated[float, Field(gt=0, le=100_000)] | None = None
    interp: Interp = "hold"
    format: ExportFormat = "mat"
    layout: Layout = "struct"

    def spec_fields(self) -> dict[str, Any]:
        """The spec's fields by name: what a model extending the spec is made from."""
        return {name: getattr(self, name) for name in ExportSpec.model_fields}
