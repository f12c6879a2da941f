"""Host C++ stand-ins for the CUDA built-ins, so the GPU kernel source compiles and runs
as ordinary C++ on machines without a GPU (shared by the CUDA-source tests)."""

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

SHIM = r"""
#include <cmath>
using std::floor; using std::sqrt; using std::log; using std::fabs; using std::isfinite;
#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
static inline unsigned int __umulhi(unsigned int a, unsigned int b)
{ return (unsigned int)(((unsigned long long)a * b) >> 32); }
struct uint3_ { unsigned int x; };
struct float4 { float x, y, z, w; };
struct double2 { double x, y; };
template <typename T> static inline T __ldg(const T *p) { return *p; }
static uint3_ blockIdx, threadIdx, blockDim;
"""


def compile_on_host(folder: Path, code: str, name: str) -> ctypes.CDLL:
    """Compile ``SHIM + code`` with g++ into a shared library and load it (skip without
    g++). No FMA contraction, like the tracker's reference arithmetic."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not available")
    source = folder / f"{name}.cpp"
    source.write_text(SHIM + code)
    library = folder / f"{name}.so"
    result = subprocess.run([gxx, "-O2", "-std=c++14", "-ffp-contract=off", "-fno-strict-aliasing",
                             "-fPIC", "-shared",
                             "-Wno-unknown-pragmas", "-o", str(library), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return ctypes.CDLL(str(library))
