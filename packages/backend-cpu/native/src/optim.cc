#include "optim.h"

#include <algorithm>
#include <cmath>

#include "strided.h"
#include "thread_pool.h"
#include "vmath.h"

namespace kiln {
namespace {

/** The constants as float32 (each rounded once from the double the TypeScript side computed). */
struct AdamF32 {
  float decay, l2, beta1, beta2, c1, c2, negStepSize, biasCorrection2Sqrt, eps;
  explicit AdamF32(const AdamConstants& c)
      : decay(static_cast<float>(c.decay)),
        l2(static_cast<float>(c.l2)),
        beta1(static_cast<float>(c.beta1)),
        beta2(static_cast<float>(c.beta2)),
        c1(static_cast<float>(1.0 - c.beta1)),
        c2(static_cast<float>(1.0 - c.beta2)),
        negStepSize(static_cast<float>(c.negStepSize)),
        biasCorrection2Sqrt(static_cast<float>(c.biasCorrection2Sqrt)),
        eps(static_cast<float>(c.eps)) {}
};

// p = p decay; g += l2 p; m = beta1 m + c1 g; v = beta2 v + c2 g^2;
// p += negStepSize * (m / (sqrt(v) / biasCorrection2Sqrt + eps)), every operation in float32.
// Built without FMA (ISO C++ does not contract, and the baseline ISA has no FMA to contract to).
void adamRun(float* p, const float* g, float* m, float* v, int64_t n, const AdamF32& c) {
  for (int64_t e = 0; e < n; e++) {
    const float pv = p[e] * c.decay;
    const float gv = c.l2 != 0 ? g[e] + pv * c.l2 : g[e];
    m[e] = c.beta1 * m[e] + c.c1 * gv;
    v[e] = c.beta2 * v[e] + c.c2 * (gv * gv);
    p[e] = pv + c.negStepSize * (m[e] / (std::sqrt(v[e]) / c.biasCorrection2Sqrt + c.eps));
  }
}

#ifdef KILN_X86
/**
 * Eight lanes of adamRun, exactly its operations: compiled for AVX2 without FMA, so no multiply-add
 * can be contracted into one rounding (GCC contracts vector intrinsics too).
 */
template <bool kL2>
__attribute__((target("avx2"))) void adamRunAvx2(float* p, const float* g, float* m, float* v, int64_t n,
                                                      const AdamF32& c) {
  const __m256 decay = _mm256_set1_ps(c.decay), l2 = _mm256_set1_ps(c.l2);
  const __m256 b1 = _mm256_set1_ps(c.beta1), b2 = _mm256_set1_ps(c.beta2);
  const __m256 c1 = _mm256_set1_ps(c.c1), c2 = _mm256_set1_ps(c.c2);
  const __m256 step = _mm256_set1_ps(c.negStepSize), bc2 = _mm256_set1_ps(c.biasCorrection2Sqrt);
  const __m256 eps = _mm256_set1_ps(c.eps);
  int64_t e = 0;
  for (; e + 8 <= n; e += 8) {
    const __m256 pv = _mm256_mul_ps(_mm256_loadu_ps(p + e), decay);
    __m256 gv = _mm256_loadu_ps(g + e);
    if (kL2) gv = _mm256_add_ps(gv, _mm256_mul_ps(pv, l2));
    const __m256 mv = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + e)), _mm256_mul_ps(c1, gv));
    const __m256 vv =
        _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + e)), _mm256_mul_ps(c2, _mm256_mul_ps(gv, gv)));
    _mm256_storeu_ps(m + e, mv);
    _mm256_storeu_ps(v + e, vv);
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
    _mm256_storeu_ps(p + e, _mm256_add_ps(pv, _mm256_mul_ps(step, _mm256_div_ps(mv, denom))));
  }
  adamRun(p + e, g + e, m + e, v + e, n - e, c);
}
#endif

void adamPiece(float* p, const float* g, float* m, float* v, int64_t n, const AdamF32& c) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {  // AVX2 is what this needs; FMA comes with it on every such CPU
    if (c.l2 != 0) return adamRunAvx2<true>(p, g, m, v, n, c);
    return adamRunAvx2<false>(p, g, m, v, n, c);
  }
#endif
  adamRun(p, g, m, v, n, c);
}

}  // namespace

void adamStepF32(float* param, const float* grad, float* expAvg, float* expAvgSq, int64_t n,
                 const AdamConstants& constants) {
  if (n == 0) return;
  const AdamF32 c(constants);
  const int threads = poolThreads();
  const int64_t pieces = n >= kParallelGrain && threads > 1 ? std::min<int64_t>(8 * threads, n / (kParallelGrain / 4)) : 1;
  const int64_t step = ((n + pieces - 1) / pieces + 15) / 16 * 16;
  parallelFor((n + step - 1) / step, [&](int64_t t, int) {
    const int64_t e0 = t * step, e1 = std::min(n, e0 + step);
    adamPiece(param + e0, grad + e0, expAvg + e0, expAvgSq + e0, e1 - e0, c);
  });
}

}  // namespace kiln
