"""numba, imported without its BLAS probe.

The first time numba compiles or loads code it imports scipy.linalg to see whether
BLAS is there: ~0.25 s and ~25 MB on every process start, for kernels that use no BLAS.
Importing numba through this module runs that probe with scipy.linalg hidden from the
importing thread only, so another thread importing scipy.linalg meanwhile still gets it.
"""

from __future__ import annotations

import sys
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


_hide = _HideLinalg()
sys.meta_path.insert(0, _hide)
try:
    from numba import njit, types
    from numba.np import arraymath  # noqa: F401  (runs the probe now, while hidden)
finally:
    sys.meta_path.remove(_hide)

__all__ = ["njit", "types"]
