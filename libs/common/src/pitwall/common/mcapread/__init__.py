"""The MCAP reading core: MCAP bytes -> `pitwall.common.columns.Recording`.

Shared by the converter and ingest; needs no server. See `reader.read_recording` for
the entry point, `container` for the damage policy, `summary` for when the index is
trusted, `program`/`decode` and the compiled `_kernels` (Cython) for the columnar
decode.
"""

from pitwall.common.mcapread.errors import McapReadError, NotMcapError
from pitwall.common.mcapread.info import ChannelInfo, McapInfo, SignalInfo, scan_summary
from pitwall.common.mcapread.reader import read_recording
from pitwall.common.mcapread.source import ByteSource, RangeSource, open_source

__all__ = [
    "ByteSource",
    "ChannelInfo",
    "McapInfo",
    "McapReadError",
    "NotMcapError",
    "RangeSource",
    "SignalInfo",
    "open_source",
    "read_recording",
    "scan_summary",
]
