"""Where logs come from: a car over SFTP, a folder. One small interface for both."""

from __future__ import annotations

from pitwall.basestation.settings import SourceConfig
from pitwall.basestation.sources.base import RemoteFile, Source, SourceError
from pitwall.basestation.sources.directory import DirectorySource
from pitwall.basestation.sources.sftp import SFTPSource

__all__ = ["DirectorySource", "RemoteFile", "SFTPSource", "Source", "SourceError", "open_source"]


def open_source(config: SourceConfig) -> Source:
    if config.kind == "sftp":
        return SFTPSource(config)
    return DirectorySource(config)
