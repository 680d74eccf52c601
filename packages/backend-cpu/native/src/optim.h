// One fused Adam / AdamW step over four contiguous float32 arrays (core's FusedKernels.adamStep),
// one pass, every operation in float32 in the TypeScript kernel's order (kernels/optim.ts), so the
// two agree bit for bit.
#pragma once
#include <cstdint>

namespace kiln {

/**
 * The per-step scalars, computed once in TypeScript (adamConstants) and passed as they are; the
 * kernel rounds each to float32 once, as the TypeScript kernel does.
 */
struct AdamConstants {
  double decay;  // 1 - lr wd (AdamW), else 1
  double l2;     // wd (Adam's L2 term), else 0
  double beta1;
  double beta2;
  double negStepSize;          // -lr / (1 - beta1^step)
  double biasCorrection2Sqrt;  // sqrt(1 - beta2^step)
  double eps;
};

void adamStepF32(float* param, const float* grad, float* expAvg, float* expAvgSq, int64_t n, const AdamConstants& c);

}  // namespace kiln
