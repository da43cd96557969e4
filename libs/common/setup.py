"""Builds the Cython kernels of the MCAP reader; everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

kernels = Extension(
    "pitwall.common.mcapread._kernels",
    ["src/pitwall/common/mcapread/_kernels.pyx"],
    # -O3: the decode loop is the product's hot path. No -march=native: the built
    # module must run on any x86-64 (or arm64) machine the wheel or image lands on.
    extra_compile_args=["-O3"],
)

setup(ext_modules=cythonize([kernels], compiler_directives={"language_level": "3"}))
