// float32 reductions (sum, prod, max, min) where each output folds one strided run of the input,
// and the fused softmax / log-softmax / logsumexp along a contiguous dim.
#pragma once
#include "strided.h"

namespace kiln {

extern const char* const kReduceOps[];
extern const int kReduceOpCount;

/**
 * out[o] = fold of x over `runLength` elements spaced `runStride` apart, starting where the kept
 * layout puts output o (operand 0: x, operand 1: out). Sums and products accumulate in double
 * (contiguous sums as sumContiguousF32).
 */
void reduceF32(int op, const float* x, float* out, const Layout<2>& kept, int64_t runLength, int64_t runStride);

/**
 * The sum of a contiguous run, accumulated in double (with AVX2, each lane first adds eight values
 * as a pairwise tree in float32, vsum.h: three roundings, each within half an ulp of its partial
 * sum).
 */
double sumContiguousF32(const float* x, int64_t n);

enum class SoftmaxMode { kSoftmax = 0, kLogSoftmax = 1, kLogsumexp = 2 };

/**
 * One softmax row per entry of the kept layout (operand 0: x, operand 1: out), each `n` long and
 * contiguous in x (and in out, except for logsumexp, which writes one value per row).
 */
void softmaxF32(SoftmaxMode mode, const float* x, float* out, const Layout<2>& rows, int64_t n);

}  // namespace kiln
