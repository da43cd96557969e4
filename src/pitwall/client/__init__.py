"""Python client of the pitwall API: `from pitwall.client import Client`."""

from pitwall.client.client import Client, ExportFailed, PitwallError, Series, SignalSeries

__all__ = ["Client", "ExportFailed", "PitwallError", "Series", "SignalSeries"]
