#include "loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "strided.h"
#include "thread_pool.h"
#include "vmath.h"

namespace kiln {
namespace {

/** fn(r0, r1) over row chunks of about kParallelGrain / 4 elements, on the pool when large enough. */
template <class F>
void forRowChunks(int64_t rows, int64_t classes, F fn) {
  if (rows * classes < kParallelGrain || poolThreads() == 1) return fn(int64_t{0}, rows);
  const int64_t per = std::max<int64_t>(1, (kParallelGrain / 4 + classes - 1) / classes);
  parallelFor((rows + per - 1) / per, [&](int64_t t, int) { fn(t * per, std::min(rows, (t + 1) * per)); });
}

struct RowStats {
  double max;    // NaN if the row holds one
  double total;  // sum of the logits
};

RowStats rowStatsPortable(const float* x, int64_t n) {
  double mx = -std::numeric_limits<double>::infinity(), total = 0;
  for (int64_t k = 0; k < n; k++) {
    if (x[k] > mx || std::isnan(x[k])) mx = std::isnan(mx) ? mx : x[k];
    total += x[k];
  }
  return {mx, total};
}

double sumExpPortable(const float* x, int64_t n, double shift) {
  double s = 0;
  for (int64_t k = 0; k < n; k++) s += std::exp(x[k] - shift);
  return s;
}

void gradRowPortable(const float* x, int64_t n, double g, double lse, double uniform, float* out) {
  for (int64_t k = 0; k < n; k++) out[k] = static_cast<float>(g * (std::exp(x[k] - lse) - uniform));
}

#ifdef KILN_X86
__attribute__((target("avx2,fma"))) double hsumPd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

__attribute__((target("avx2,fma"))) RowStats rowStatsAvx2(const float* x, int64_t n) {
  __m256 mx = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
  __m256d t0 = _mm256_setzero_pd(), t1 = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    mx = _mm256_max_ps(mx, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    t0 = _mm256_add_pd(t0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    t1 = _mm256_add_pd(t1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, mx);
  double m = -std::numeric_limits<double>::infinity();
  for (float l : lanes) m = std::max<double>(m, l);
  RowStats tail = rowStatsPortable(x + k, n - k);
  const bool hasNan = _mm256_movemask_ps(nan) != 0 || std::isnan(tail.max);
  return {hasNan ? std::numeric_limits<double>::quiet_NaN() : std::max(m, tail.max), hsumPd(_mm256_add_pd(t0, t1)) + tail.total};
}

__attribute__((target("avx2,fma"))) double sumExpAvx2(const float* x, int64_t n, double shift) {
  const __m256 s = _mm256_set1_ps(static_cast<float>(shift));
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 e = vmath::exp(_mm256_sub_ps(_mm256_loadu_ps(x + k), s));
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  return hsumPd(_mm256_add_pd(a0, a1)) + sumExpPortable(x + k, n - k, shift);
}

__attribute__((target("avx2,fma"))) void gradRowAvx2(const float* x, int64_t n, double g, double lse, double uniform,
                                                     float* out) {
  const __m256 gv = _mm256_set1_ps(static_cast<float>(g)), l = _mm256_set1_ps(static_cast<float>(lse));
  const __m256 gu = _mm256_set1_ps(static_cast<float>(g * uniform));
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    _mm256_storeu_ps(out + k, _mm256_fmsub_ps(gv, vmath::exp(_mm256_sub_ps(_mm256_loadu_ps(x + k), l)), gu));
  gradRowPortable(x + k, n - k, g, lse, uniform, out + k);
}
#endif

struct Kernels {
  RowStats (*stats)(const float*, int64_t);
  double (*sumExp)(const float*, int64_t, double);
  void (*gradRow)(const float*, int64_t, double, double, double, float*);
};

const Kernels& kernels() {
#ifdef KILN_X86
  static const Kernels k = vmath::kHasAvx2Fma ? Kernels{rowStatsAvx2, sumExpAvx2, gradRowAvx2}
                                              : Kernels{rowStatsPortable, sumExpPortable, gradRowPortable};
#else
  static const Kernels k{rowStatsPortable, sumExpPortable, gradRowPortable};
#endif
  return k;
}

}  // namespace

void crossEntropyF32(const float* logits, const int32_t* target, int64_t ignoreIndex, double e, float* loss,
                     float* lse, int64_t rows, int64_t classes) {
  const Kernels& kn = kernels();
  forRowChunks(rows, classes, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * classes;
      const RowStats st = kn.stats(x, classes);
      // An all -inf (or a +inf) row: shift by 0, as the TypeScript kernel does.
      const double shift = std::isinf(st.max) ? 0.0 : st.max;
      const double l = std::log(kn.sumExp(x, classes, shift)) + shift;
      lse[r] = static_cast<float>(l);
      const int64_t t = target[r];
      if (t == ignoreIndex) {
        loss[r] = 0.0f;
        continue;
      }
      double v = l - (1 - e) * x[t];
      if (e > 0) v -= e / static_cast<double>(classes) * st.total;
      loss[r] = static_cast<float>(v);
    }
  });
}

void crossEntropyBackwardF32(const float* gradLoss, const float* logits, const int32_t* target, const float* lse,
                             int64_t ignoreIndex, double e, float* gradLogits, int64_t rows, int64_t classes) {
  const Kernels& kn = kernels();
  const double uniform = e / static_cast<double>(classes);
  forRowChunks(rows, classes, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * classes;
      float* out = gradLogits + r * classes;
      const int64_t t = target[r];
      if (t == ignoreIndex) {
        std::fill(out, out + classes, 0.0f);
        continue;
      }
      const double g = gradLoss[r], l = lse[r];
      kn.gradRow(x, classes, g, l, uniform, out);
      if (t >= 0 && t < classes) out[t] = static_cast<float>(g * (std::exp(x[t] - l) - (1 - e) - uniform));
    }
  });
}

}  // namespace kiln
