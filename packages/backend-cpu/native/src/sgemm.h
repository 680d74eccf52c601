// Single-precision GEMM over strided operands: C = A B (or C += A B), with A M x K, B K x N and C
// M x N each given by a pointer plus a row and a column stride in elements (any strides,
// transposed or broadcast operands included: they are packed).
#pragma once
#include <cstdint>

namespace kiln {

struct MatrixView {
  const float* data;
  int64_t rowStride;
  int64_t colStride;
};

struct OutputView {
  float* data;
  int64_t rowStride;
  int64_t colStride;
};

/** The micro-kernel in use: "avx512 8x32", "avx2+fma 6x16" or "portable 4x8". */
const char* sgemmKernelName();

/**
 * C (=|+=) A B. `threaded`: split the work over the pool (a caller already running on a pool
 * thread passes false).
 */
void sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, OutputView c, bool accumulate,
           bool threaded);

}  // namespace kiln
