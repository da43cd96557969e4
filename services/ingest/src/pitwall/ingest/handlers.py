"""What ingest does with each event it consumes; its queue's bindings are these events.

Light on purpose: every publisher reads HANDLERS to declare ingest's queue (see
`pitwall.common.broker.handlers`), so the decoding side is reached through the Ingestor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pitwall.common.broker.handlers import Handlers
from pitwall.common.contracts import mongo
from pitwall.common.events import (
    CatalogueCommand,
    ConversionCompleted,
    ConversionFailed,
    ConversionProgress,
    ConversionRequested,
    Event,
    FileUploaded,
    MathCommand,
    RunCommand,
    StationStatus,
    TokenCommand,
    TokensUsed,
)
from pitwall.common.runtime import release_free_memory
from pitwall.ingest import catalogue, jobs, mathchannels, runcommands, stations, summaries, tokens

if TYPE_CHECKING:
    from pitwall.ingest.ingestor import Ingestor

HANDLERS: Handlers[Ingestor] = Handlers("ingest")


@HANDLERS.on(FileUploaded)
async def file_uploaded(ingestor: Ingestor, event: FileUploaded) -> None:
    await ingestor.on_file_uploaded(event)
    release_free_memory()  # in the main thread: see its docstring


@HANDLERS.on(RunCommand)
async def run_command(ingestor: Ingestor, event: RunCommand) -> None:
    await runcommands.apply_command(ingestor.runs, event)
    await summaries.refresh(ingestor.db, event.run_id)


@HANDLERS.on(ConversionRequested, ConversionProgress, ConversionCompleted, ConversionFailed)
async def conversion(ingestor: Ingestor, event: Event) -> None:
    # The job's state from any of the four (they may arrive in any order).
    await jobs.record(ingestor.db[mongo.JOBS], event)


@HANDLERS.on(StationStatus)
async def station_status(ingestor: Ingestor, event: StationStatus) -> None:
    await stations.record(ingestor.db[mongo.STATIONS], event)


@HANDLERS.on(TokenCommand)
async def token_command(ingestor: Ingestor, event: TokenCommand) -> None:
    await tokens.apply_command(ingestor.db[mongo.TOKENS], event)


@HANDLERS.on(TokensUsed)
async def token_used(ingestor: Ingestor, event: TokensUsed) -> None:
    await tokens.record_usage(ingestor.db[mongo.TOKENS], event)


@HANDLERS.on(CatalogueCommand)
async def catalogue_command(ingestor: Ingestor, event: CatalogueCommand) -> None:
    await catalogue.apply_command(ingestor.db, event)


@HANDLERS.on(MathCommand)
async def math_command(ingestor: Ingestor, event: MathCommand) -> None:
    await mathchannels.apply_command(ingestor.db, event)
