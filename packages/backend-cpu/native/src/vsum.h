// Double-precision sums of float32 vectors (AVX2), one rounding scheme shared by the contiguous sum
// (reduce.cc) and the fusion evaluator's summing passes (elementwise.cc), which sum values as they
// are computed instead of storing them first.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace kiln {

#define KILN_AVX2_SUM __attribute__((target("avx2"), always_inline)) inline

/**
 * Eight vectors are first added as a pairwise tree in float32 (three roundings, each within half an
 * ulp of a partial sum: the accuracy of a cascade sum), then widened and accumulated in double: one
 * conversion per 64 floats instead of one per 8 keeps a summing loop at load speed. Successive groups
 * go to alternate pairs of accumulators (`pair` 0, then 2: a constant at each call, so the
 * accumulators stay in registers) to cover the add latency.
 */
struct SumAvx2 {
  __m256d acc[4];

  KILN_AVX2_SUM void reset() {
    for (auto& a : acc) a = _mm256_setzero_pd();
  }
  KILN_AVX2_SUM void add8(int pair, const __m256 (&x)[8]) {
    const __m256 v = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x[0], x[1]), _mm256_add_ps(x[2], x[3])),
                                   _mm256_add_ps(_mm256_add_ps(x[4], x[5]), _mm256_add_ps(x[6], x[7])));
    acc[pair] = _mm256_add_pd(acc[pair], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc[pair + 1] = _mm256_add_pd(acc[pair + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  /** One vector on its own (a run's last few), widened as it is. */
  KILN_AVX2_SUM void add1(__m256 v) {
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  KILN_AVX2_SUM double total() const {
    alignas(32) double t[4];
    _mm256_store_pd(t, _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])));
    return (t[0] + t[1]) + (t[2] + t[3]);
  }
};

#undef KILN_AVX2_SUM

}  // namespace kiln
#endif
