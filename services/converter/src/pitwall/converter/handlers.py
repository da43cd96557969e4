"""What the converter does with each event it consumes; its queue's bindings are these events.

Light on purpose: every publisher reads HANDLERS to declare the converter's queue (see
`pitwall.common.broker.handlers`), so the export core is reached through the Converter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pitwall.common.broker.handlers import Handlers
from pitwall.common.events import ConversionRequested

if TYPE_CHECKING:
    from pitwall.converter.app import Converter

HANDLERS: Handlers[Converter] = Handlers("converter")


@HANDLERS.on(ConversionRequested)
async def conversion_requested(converter: Converter, event: ConversionRequested) -> None:
    await converter.convert(event)
