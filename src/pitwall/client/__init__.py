"""Python client of the pitwall API: `from pitwall.client import Client`."""

from pitwall.client.client import Client, Comparison, ExportFailed, PitwallError, Series, SignalSeries
from pitwall.client.facts import TopicFields

__all__ = ["Client", "Comparison", "ExportFailed", "PitwallError", "Series", "SignalSeries", "TopicFields"]
