"""What no Python MCAP converter can go below on this machine, as a standalone script.

    python bench/floor.py startup               # the interpreter + `import numpy`
    python bench/floor.py decompress IN.mcap    # + read the file, zstd-decompress every chunk

`decompress` uses the official `mcap` library's summary to find the chunks and
`zstandard` on two threads (it releases the GIL), and keeps nothing: the least a
selection costs when every chunk holds a message it needs (the team's chunks hold every
topic, so 5 signals still touch every chunk). Deliberately independent of pitwall.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy  # noqa: F401  (every converter that hands back arrays pays for it)


def decompress(path: str) -> dict[str, float | int]:
    import zstandard
    from mcap.reader import make_reader

    t0 = time.perf_counter()
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None, "the floor needs an indexed file"
    index = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)

    def one(ci: object) -> int:
        # The chunk record: opcode, length, then a 40-byte header before the compression
        # name; the compressed data follows its own 8-byte length.
        with open(path, "rb") as f:
            f.seek(ci.chunk_start_offset)  # type: ignore[attr-defined]
            rec = f.read(ci.chunk_length)  # type: ignore[attr-defined]
        name_len = int.from_bytes(rec[9 + 28 : 9 + 32], "little")
        data = rec[9 + 32 + name_len + 8 :]
        if ci.compression != "zstd":  # type: ignore[attr-defined]
            return len(data)
        out = zstandard.ZstdDecompressor().decompress(
            data, max_output_size=ci.uncompressed_size  # type: ignore[attr-defined]
        )
        return len(out)

    with ThreadPoolExecutor(2) as pool:
        total = sum(pool.map(one, index))
    return {"chunks": len(index), "bytes": total, "seconds": time.perf_counter() - t0}


def main(argv: list[str]) -> int:
    if argv[:1] == ["startup"]:
        print(json.dumps({"route": "startup"}))
    elif argv[:1] == ["decompress"] and len(argv) == 2:
        print(json.dumps({"route": "decompress", **decompress(argv[1])}))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
