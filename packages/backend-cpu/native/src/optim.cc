#include "optim.h"

#include <algorithm>
#include <cmath>

#include "strided.h"
#include "thread_pool.h"
#include "vmath.h"

namespace kiln {
namespace {

// p = p decay; g += l2 p; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// p += negStepSize * (m / (sqrt(v) / biasCorrection2Sqrt + eps))
void adamRun(float* p, const float* g, float* m, float* v, int64_t n, const AdamConstants& c) {
  const double c1 = 1.0 - c.beta1, c2 = 1.0 - c.beta2;
  for (int64_t e = 0; e < n; e++) {
    const double pv = p[e] * c.decay;
    const double gv = c.l2 != 0 ? g[e] + pv * c.l2 : g[e];
    m[e] = static_cast<float>(c.beta1 * m[e] + c1 * gv);
    v[e] = static_cast<float>(c.beta2 * v[e] + c2 * (gv * gv));
    p[e] = static_cast<float>(pv + c.negStepSize * (m[e] / (std::sqrt(static_cast<double>(v[e])) / c.biasCorrection2Sqrt + c.eps)));
  }
}

#ifdef KILN_X86
/**
 * Four lanes of adamRun, exactly its operations: compiled for AVX2 without FMA, so no multiply-add
 * can be contracted into one rounding (GCC contracts vector intrinsics too).
 */
template <bool kL2>
__attribute__((target("avx2"))) void adamRunAvx2(float* p, const float* g, float* m, float* v, int64_t n,
                                                      const AdamConstants& c) {
  const __m256d decay = _mm256_set1_pd(c.decay), l2 = _mm256_set1_pd(c.l2);
  const __m256d b1 = _mm256_set1_pd(c.beta1), b2 = _mm256_set1_pd(c.beta2);
  const __m256d c1 = _mm256_set1_pd(1.0 - c.beta1), c2 = _mm256_set1_pd(1.0 - c.beta2);
  const __m256d step = _mm256_set1_pd(c.negStepSize), bc2 = _mm256_set1_pd(c.biasCorrection2Sqrt);
  const __m256d eps = _mm256_set1_pd(c.eps);
  int64_t e = 0;
  for (; e + 4 <= n; e += 4) {
    const __m256d pv = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + e)), decay);
    __m256d gv = _mm256_cvtps_pd(_mm_loadu_ps(g + e));
    if (kL2) gv = _mm256_add_pd(gv, _mm256_mul_pd(pv, l2));
    const __m128 mf = _mm256_cvtpd_ps(
        _mm256_add_pd(_mm256_mul_pd(b1, _mm256_cvtps_pd(_mm_loadu_ps(m + e))), _mm256_mul_pd(c1, gv)));
    const __m128 vf = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_mul_pd(b2, _mm256_cvtps_pd(_mm_loadu_ps(v + e))),
                                                    _mm256_mul_pd(c2, _mm256_mul_pd(gv, gv))));
    _mm_storeu_ps(m + e, mf);
    _mm_storeu_ps(v + e, vf);
    const __m256d denom = _mm256_add_pd(_mm256_div_pd(_mm256_sqrt_pd(_mm256_cvtps_pd(vf)), bc2), eps);
    const __m256d upd = _mm256_mul_pd(step, _mm256_div_pd(_mm256_cvtps_pd(mf), denom));
    _mm_storeu_ps(p + e, _mm256_cvtpd_ps(_mm256_add_pd(pv, upd)));
  }
  adamRun(p + e, g + e, m + e, v + e, n - e, c);
}
#endif

void adamPiece(float* p, const float* g, float* m, float* v, int64_t n, const AdamConstants& c) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {  // AVX2 is what this needs; FMA comes with it on every such CPU
    if (c.l2 != 0) return adamRunAvx2<true>(p, g, m, v, n, c);
    return adamRunAvx2<false>(p, g, m, v, n, c);
  }
#endif
  adamRun(p, g, m, v, n, c);
}

}  // namespace

void adamStepF32(float* param, const float* grad, float* expAvg, float* expAvgSq, int64_t n, const AdamConstants& c) {
  if (n == 0) return;
  const int threads = poolThreads();
  const int64_t pieces = n >= kParallelGrain && threads > 1 ? std::min<int64_t>(8 * threads, n / (kParallelGrain / 4)) : 1;
  const int64_t step = ((n + pieces - 1) / pieces + 15) / 16 * 16;
  parallelFor((n + step - 1) / step, [&](int64_t t, int) {
    const int64_t e0 = t * step, e1 = std::min(n, e0 + step);
    adamPiece(param + e0, grad + e0, expAvg + e0, expAvgSq + e0, e1 - e0, c);
  });
}

}  // namespace kiln
