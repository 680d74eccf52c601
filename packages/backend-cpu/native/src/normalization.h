// Fused layer norm over the rows of a contiguous [rows, n] float32 input, and its backward: the
// statistics and all per-element arithmetic in double (as the TypeScript kernels), rows spread
// over the pool. See @kiln/core's FusedKernels.layerNorm / layerNormBackward for the contracts.
#pragma once
#include <cstdint>

namespace kiln {

/** out = (x - mean) * rstd * weight + bias; weight and bias may be null; mean and rstd: [rows]. */
void layerNormF32(const float* x, const float* weight, const float* bias, double eps, float* out, float* mean,
                  float* rstd, int64_t rows, int64_t n);

/**
 * gradIn = rstd (gy - mean(gy) - xhat mean(gy xhat)), gy = gradOut * weight, xhat = (x - mean) rstd;
 * gradWeight = column sums of gradOut * xhat, gradBias = column sums of gradOut. Any of the three
 * outputs (and weight) may be null. Column sums are deterministic: fixed row chunks whose partial
 * sums (double) are added in chunk order, whatever thread ran them.
 */
void layerNormBackwardF32(const float* gradOut, const float* x, const float* weight, const float* mean,
                          const float* rstd, float* gradIn, float* gradWeight, float* gradBias, int64_t rows,
                          int64_t n);

}  // namespace kiln
