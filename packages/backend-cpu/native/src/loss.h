// Fused cross entropy over the rows of contiguous [rows, classes] float32 logits, and its
// backward (see @kiln/core's FusedKernels.crossEntropy / crossEntropyBackward for the contracts).
// Row statistics in double, rows spread over the pool. Targets must have been checked to lie in
// [0, classes) or equal ignoreIndex.
#pragma once
#include <cstdint>

namespace kiln {

/** loss[i] = lse_i - (1 - e) x[i, t_i] - e / C sum_c x[i, c], 0 where t_i = ignoreIndex; lse [rows]. */
void crossEntropyF32(const float* logits, const int32_t* target, int64_t ignoreIndex, double labelSmoothing,
                     float* loss, float* lse, int64_t rows, int64_t classes);

/** gradLogits[i, c] = gradLoss[i] (exp(x[i, c] - lse_i) - (1 - e) [c = t_i] - e / C); 0 on ignored rows. */
void crossEntropyBackwardF32(const float* gradLoss, const float* logits, const int32_t* target, const float* lse,
                             int64_t ignoreIndex, double labelSmoothing, float* gradLogits, int64_t rows,
                             int64_t classes);

}  // namespace kiln
