"""numba, imported with a usable cache directory and without its BLAS probe.

Compiled kernels are cached next to their source (`__pycache__`); when the package is
installed read-only and NUMBA_CACHE_DIR is not set, a per-user directory is used
instead, so every process after the first loads machine code instead of compiling.

The first time numba compiles or loads code it imports scipy.linalg to see whether
BLAS is there: ~0.25 s and ~25 MB on every process start, for kernels that use no BLAS.
Importing numba through this module runs that probe with scipy.linalg hidden from the
importing thread only, so another thread importing scipy.linalg meanwhile still gets it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType


class _HideLinalg(MetaPathFinder):
    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == "scipy.linalg" and threading.get_ident() == self.thread:
            raise ImportError("scipy.linalg hidden from numba's BLAS probe")
        return None


def _cache_dir() -> str | None:
    """Where numba should cache, when next to the source is not writable."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    if os.access(here, os.W_OK):
        return None
    home_cache = os.path.join(os.path.expanduser("~"), ".cache")
    if os.access(home_cache, os.W_OK) or os.access(os.path.expanduser("~"), os.W_OK):
        return os.path.join(home_cache, "pitwall-numba")
    return os.path.join(tempfile.gettempdir(), f"pitwall-numba-{os.getuid()}")


if "numba" not in sys.modules and (_where := _cache_dir()) is not None:
    os.environ["NUMBA_CACHE_DIR"] = _where

_hide = _HideLinalg()
sys.meta_path.insert(0, _hide)
try:
    from numba import njit, types
    from numba.np import arraymath  # noqa: F401  (runs the probe now, while hidden)
finally:
    sys.meta_path.remove(_hide)

__all__ = ["njit", "types"]
