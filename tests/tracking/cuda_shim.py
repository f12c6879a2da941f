"""Host C++ stand-ins for the CUDA built-ins, so the GPU kernel source compiles and runs
as ordinary C++ on machines without a GPU (shared by the CUDA-source tests)."""

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
