"""The MCAP reading core: MCAP bytes -> `pitwall.common.columns.Recording`.

Shared by the converter and ingest; needs no server. See `reader.read_recording` for
the entry point, `container` for the damage policy, `summary` for when the index is
trusted, `program`/`decode`/`kernels` for the columnar decode, `jit` for how numba is
loaded (cache location, no BLAS probe).
"""

from pitwall.common.mcapread.errors import McapReadError, NotMcapError
from pitwall.common.mcapread.info import ChannelInfo, McapInfo, scan_summary
from pitwall.common.mcapread.reader import preload_kernels, read_recording
from pitwall.common.mcapread.source import ByteSource, RangeSource, open_source

__all__ = [
    "ByteSource",
    "ChannelInfo",
    "McapInfo",
    "McapReadError",
    "NotMcapError",
    "RangeSource",
    "open_source",
    "preload_kernels",
    "read_recording",
    "scan_summary",
]
