"""Run one contract under atheris (libFuzzer): `python tests/fuzz/fuzz_<name>.py [libFuzzer args]`.

pitwall's Python modules are imported under `atheris.instrument_imports()` so the
fuzzer sees their branch coverage; the compiled kernels are not instrumented (no clang
here) but every input ends at a guard page (`contract.guarded`), so a kernel reading
past it crashes the run. Memory: libFuzzer's -malloc_limit_mb needs a sanitizer's
malloc hooks, which a plain Python has not, so the address space is capped instead
(`FUZZ_MALLOC_MB` above what the process holds after its imports, 1536 MB by default):
an input that makes the core ask for more gets a MemoryError, which the contract
counts as a finding whether it escapes or is turned into a "not enough memory" reason.
-rss_limit_mb still bounds what is touched.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

INSTRUMENTED = {
    "reader": ["pitwall.common.mcapread", "pitwall.common.columns", "pitwall.common.selection"],
    "wire": ["pitwall.common.mcapread"],
    "services": [
        "pitwall.common.mcapread", "pitwall.common.signalstore", "pitwall.ingest.digest",
        "pitwall.ingest.ingestor", "pitwall.ingest.documents", "pitwall.ingest.stats",
        "pitwall.ingest.track", "pitwall.export.recording", "pitwall.export.resample",
    ],
}  # fmt: skip


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def cap_address_space(extra_mb: int) -> None:
    limit = _vm_bytes() + (extra_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


def main(name: str) -> None:
    with atheris.instrument_imports(include=["pitwall"]):
        import importlib

        for module in INSTRUMENTED[name]:
            importlib.import_module(module)
    import contract

    from pitwall.common.logging import configure_logging

    configure_logging("fuzz", fmt="console", level="WARNING")  # ingest logs every pass
    check = contract.CHECKS[name]
    # Warm up (lazy imports, the schema pools) before the cap, so it bounds the input.
    import seeds

    for data in (seeds.wire_seeds() if name == "wire" else seeds.mcap_seeds())[:2]:
        check(data)
    def one(data: bytes) -> None:
        failed = ""
        try:
            check(data)
        except MemoryError as exc:
            failed = f"MemoryError: {exc}"
        # Raised outside the handler, so the frames holding the memory are gone first and
        # libFuzzer has room left to write the input out.
        if failed:
            raise contract.ContractBroken(failed)

    cap_address_space(int(os.environ.get("FUZZ_MALLOC_MB", "1536")))
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
