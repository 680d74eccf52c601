#include "normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "strided.h"
#include "thread_pool.h"
#include "vmath.h"

namespace kiln {
namespace {

/**
 * Rows per task: enough elements that a task outweighs its scheduling, at most 64 chunks (the
 * backward keeps one row of partial column sums per chunk); one chunk below the parallel grain.
 */
int64_t chunkRows(int64_t rows, int64_t n) {
  if (rows * n < kParallelGrain || poolThreads() == 1) return std::max<int64_t>(1, rows);
  return std::max<int64_t>({1, (kParallelGrain / 4 + n - 1) / n, (rows + 63) / 64});
}

// ---------------------------------------------------------------- portable row loops (double)

struct Stats {
  double mean;
  double rstd;
};

Stats rowStats(const float* x, int64_t n, double eps) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += x[k];
    s1 += x[k + 1];
    s2 += x[k + 2];
    s3 += x[k + 3];
  }
  for (; k < n; k++) s0 += x[k];
  const double mu = ((s0 + s1) + (s2 + s3)) / static_cast<double>(n);
  double q = 0;
  for (k = 0; k < n; k++) {
    const double d = x[k] - mu;
    q += d * d;
  }
  return {mu, 1.0 / std::sqrt(q / static_cast<double>(n) + eps)};
}

void normaliseRow(const float* x, int64_t n, Stats st, const float* w, const float* b, float* out) {
  for (int64_t k = 0; k < n; k++) {
    double y = (x[k] - st.mean) * st.rstd;
    if (w != nullptr) y *= w[k];
    if (b != nullptr) y += b[k];
    out[k] = static_cast<float>(y);
  }
}

/** (sum gy, sum gy * xhat) of one row. */
void rowGradSums(const float* g, const float* x, const float* w, int64_t n, Stats st, double& s1, double& s2) {
  s1 = 0;
  s2 = 0;
  for (int64_t k = 0; k < n; k++) {
    const double gy = w != nullptr ? static_cast<double>(g[k]) * w[k] : g[k];
    s1 += gy;
    s2 += gy * ((x[k] - st.mean) * st.rstd);
  }
}

/** gradIn = a gy - b - c xhat (when gi), and the column partials pw += g xhat, pb += g. */
void rowGradWrite(const float* g, const float* x, const float* w, int64_t n, Stats st, double b, double c,
                  float* gi, double* pw, double* pb) {
  for (int64_t k = 0; k < n; k++) {
    const double xhat = (x[k] - st.mean) * st.rstd;
    if (gi != nullptr) {
      const double gy = w != nullptr ? static_cast<double>(g[k]) * w[k] : g[k];
      gi[k] = static_cast<float>(st.rstd * gy - b - c * xhat);
    }
    if (pw != nullptr) pw[k] += g[k] * xhat;
    if (pb != nullptr) pb[k] += g[k];
  }
}

// ---------------------------------------------------------------- AVX2 row loops (double, 4 lanes)
#ifdef KILN_X86
#define KILN_AVX2_FN __attribute__((target("avx2,fma")))

KILN_AVX2_FN inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
KILN_AVX2_FN inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
KILN_AVX2_FN inline __m256 pack8(__m256d lo, __m256d hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}
KILN_AVX2_FN inline double hsum(__m256d v) {
  alignas(32) double t[4];
  _mm256_store_pd(t, v);
  return (t[0] + t[1]) + (t[2] + t[3]);
}

KILN_AVX2_FN Stats rowStatsAvx2(const float* x, int64_t n, double eps) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    a0 = _mm256_add_pd(a0, lo4(v));
    a1 = _mm256_add_pd(a1, hi4(v));
  }
  double s = hsum(_mm256_add_pd(a0, a1));
  for (; k < n; k++) s += x[k];
  const double mu = s / static_cast<double>(n);
  const __m256d m = _mm256_set1_pd(mu);
  a0 = _mm256_setzero_pd();
  a1 = _mm256_setzero_pd();
  for (k = 0; k + 8 <= n; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    const __m256d d0 = _mm256_sub_pd(lo4(v), m), d1 = _mm256_sub_pd(hi4(v), m);
    a0 = _mm256_fmadd_pd(d0, d0, a0);
    a1 = _mm256_fmadd_pd(d1, d1, a1);
  }
  double q = hsum(_mm256_add_pd(a0, a1));
  for (; k < n; k++) {
    const double d = x[k] - mu;
    q += d * d;
  }
  return {mu, 1.0 / std::sqrt(q / static_cast<double>(n) + eps)};
}

template <bool kW, bool kB>
KILN_AVX2_FN void normaliseRowAvx2(const float* x, int64_t n, Stats st, const float* w, const float* b, float* out) {
  const __m256d m = _mm256_set1_pd(st.mean), r = _mm256_set1_pd(st.rstd);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    __m256d y0 = _mm256_mul_pd(_mm256_sub_pd(lo4(v), m), r), y1 = _mm256_mul_pd(_mm256_sub_pd(hi4(v), m), r);
    if (kW) {
      const __m256 wv = _mm256_loadu_ps(w + k);
      y0 = _mm256_mul_pd(y0, lo4(wv));
      y1 = _mm256_mul_pd(y1, hi4(wv));
    }
    if (kB) {
      const __m256 bv = _mm256_loadu_ps(b + k);
      y0 = _mm256_add_pd(y0, lo4(bv));
      y1 = _mm256_add_pd(y1, hi4(bv));
    }
    _mm256_storeu_ps(out + k, pack8(y0, y1));
  }
  normaliseRow(x + k, n - k, st, kW ? w + k : nullptr, kB ? b + k : nullptr, out + k);
}

template <bool kW>
KILN_AVX2_FN void rowGradSumsAvx2(const float* g, const float* x, const float* w, int64_t n, Stats st, double& s1,
                                  double& s2) {
  const __m256d m = _mm256_set1_pd(st.mean), r = _mm256_set1_pd(st.rstd);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), b0 = _mm256_setzero_pd(), b1 = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 gv = _mm256_loadu_ps(g + k), xv = _mm256_loadu_ps(x + k);
    __m256d gy0 = lo4(gv), gy1 = hi4(gv);
    if (kW) {
      const __m256 wv = _mm256_loadu_ps(w + k);
      gy0 = _mm256_mul_pd(gy0, lo4(wv));
      gy1 = _mm256_mul_pd(gy1, hi4(wv));
    }
    a0 = _mm256_add_pd(a0, gy0);
    a1 = _mm256_add_pd(a1, gy1);
    b0 = _mm256_fmadd_pd(gy0, _mm256_mul_pd(_mm256_sub_pd(lo4(xv), m), r), b0);
    b1 = _mm256_fmadd_pd(gy1, _mm256_mul_pd(_mm256_sub_pd(hi4(xv), m), r), b1);
  }
  double t1, t2;
  rowGradSums(g + k, x + k, kW ? w + k : nullptr, n - k, st, t1, t2);
  s1 = hsum(_mm256_add_pd(a0, a1)) + t1;
  s2 = hsum(_mm256_add_pd(b0, b1)) + t2;
}

template <bool kW, bool kIn, bool kCols>
KILN_AVX2_FN void rowGradWriteAvx2(const float* g, const float* x, const float* w, int64_t n, Stats st, double bc,
                                   double cc, float* gi, double* pw, double* pb) {
  const __m256d m = _mm256_set1_pd(st.mean), r = _mm256_set1_pd(st.rstd);
  const __m256d vb = _mm256_set1_pd(bc), vc = _mm256_set1_pd(cc);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 gv = _mm256_loadu_ps(g + k), xv = _mm256_loadu_ps(x + k);
    const __m256d g0 = lo4(gv), g1 = hi4(gv);
    const __m256d xh0 = _mm256_mul_pd(_mm256_sub_pd(lo4(xv), m), r);
    const __m256d xh1 = _mm256_mul_pd(_mm256_sub_pd(hi4(xv), m), r);
    if (kIn) {
      __m256d gy0 = g0, gy1 = g1;
      if (kW) {
        const __m256 wv = _mm256_loadu_ps(w + k);
        gy0 = _mm256_mul_pd(gy0, lo4(wv));
        gy1 = _mm256_mul_pd(gy1, hi4(wv));
      }
      const __m256d o0 = _mm256_sub_pd(_mm256_sub_pd(_mm256_mul_pd(r, gy0), vb), _mm256_mul_pd(vc, xh0));
      const __m256d o1 = _mm256_sub_pd(_mm256_sub_pd(_mm256_mul_pd(r, gy1), vb), _mm256_mul_pd(vc, xh1));
      _mm256_storeu_ps(gi + k, pack8(o0, o1));
    }
    if (kCols) {
      if (pw != nullptr) {
        _mm256_storeu_pd(pw + k, _mm256_fmadd_pd(g0, xh0, _mm256_loadu_pd(pw + k)));
        _mm256_storeu_pd(pw + k + 4, _mm256_fmadd_pd(g1, xh1, _mm256_loadu_pd(pw + k + 4)));
      }
      if (pb != nullptr) {
        _mm256_storeu_pd(pb + k, _mm256_add_pd(g0, _mm256_loadu_pd(pb + k)));
        _mm256_storeu_pd(pb + k + 4, _mm256_add_pd(g1, _mm256_loadu_pd(pb + k + 4)));
      }
    }
  }
  rowGradWrite(g + k, x + k, kW ? w + k : nullptr, n - k, st, bc, cc, kIn ? gi + k : nullptr,
               kCols && pw != nullptr ? pw + k : nullptr, kCols && pb != nullptr ? pb + k : nullptr);
}

#undef KILN_AVX2_FN
#endif

void normalise(const float* x, int64_t n, Stats st, const float* w, const float* b, float* out) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {
    if (w != nullptr && b != nullptr) return normaliseRowAvx2<true, true>(x, n, st, w, b, out);
    if (w != nullptr) return normaliseRowAvx2<true, false>(x, n, st, w, b, out);
    if (b != nullptr) return normaliseRowAvx2<false, true>(x, n, st, w, b, out);
    return normaliseRowAvx2<false, false>(x, n, st, w, b, out);
  }
#endif
  normaliseRow(x, n, st, w, b, out);
}

Stats stats(const float* x, int64_t n, double eps) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) return rowStatsAvx2(x, n, eps);
#endif
  return rowStats(x, n, eps);
}

void gradSums(const float* g, const float* x, const float* w, int64_t n, Stats st, double& s1, double& s2) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {
    if (w != nullptr) return rowGradSumsAvx2<true>(g, x, w, n, st, s1, s2);
    return rowGradSumsAvx2<false>(g, x, w, n, st, s1, s2);
  }
#endif
  rowGradSums(g, x, w, n, st, s1, s2);
}

void gradWrite(const float* g, const float* x, const float* w, int64_t n, Stats st, double b, double c, float* gi,
               double* pw, double* pb) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {
    const bool cols = pw != nullptr || pb != nullptr;
    if (w != nullptr) {
      if (gi != nullptr)
        return cols ? rowGradWriteAvx2<true, true, true>(g, x, w, n, st, b, c, gi, pw, pb)
                    : rowGradWriteAvx2<true, true, false>(g, x, w, n, st, b, c, gi, pw, pb);
      return rowGradWriteAvx2<true, false, true>(g, x, w, n, st, b, c, gi, pw, pb);
    }
    if (gi != nullptr)
      return cols ? rowGradWriteAvx2<false, true, true>(g, x, w, n, st, b, c, gi, pw, pb)
                  : rowGradWriteAvx2<false, true, false>(g, x, w, n, st, b, c, gi, pw, pb);
    return rowGradWriteAvx2<false, false, true>(g, x, w, n, st, b, c, gi, pw, pb);
  }
#endif
  rowGradWrite(g, x, w, n, st, b, c, gi, pw, pb);
}

}  // namespace

void layerNormF32(const float* x, const float* weight, const float* bias, double eps, float* out, float* mean,
                  float* rstd, int64_t rows, int64_t n) {
  if (rows == 0 || n == 0) return;
  const int64_t per = chunkRows(rows, n);
  parallelFor((rows + per - 1) / per, [&](int64_t t, int) {
    for (int64_t r = t * per, end = std::min(rows, r + per); r < end; r++) {
      const Stats st = stats(x + r * n, n, eps);
      mean[r] = static_cast<float>(st.mean);
      rstd[r] = static_cast<float>(st.rstd);
      normalise(x + r * n, n, st, weight, bias, out + r * n);
    }
  });
}

void layerNormBackwardF32(const float* gradOut, const float* x, const float* weight, const float* mean,
                          const float* rstd, float* gradIn, float* gradWeight, float* gradBias, int64_t rows,
                          int64_t n) {
  if (n == 0) return;
  const int64_t per = chunkRows(rows, n);
  const int64_t chunks = (rows + per - 1) / per;
  // One row of double partial column sums per chunk (zeroed), for each column output wanted.
  std::vector<double> partW(gradWeight != nullptr ? chunks * n : 0), partB(gradBias != nullptr ? chunks * n : 0);
  parallelFor(chunks, [&](int64_t t, int) {
    double* pw = gradWeight != nullptr ? partW.data() + t * n : nullptr;
    double* pb = gradBias != nullptr ? partB.data() + t * n : nullptr;
    for (int64_t r = t * per, end = std::min(rows, r + per); r < end; r++) {
      const float* g = gradOut + r * n;
      const float* xr = x + r * n;
      // The saved statistics, as the TypeScript kernel reads them.
      const Stats st{mean[r], rstd[r]};
      double b = 0, c = 0;
      if (gradIn != nullptr) {
        double s1, s2;
        gradSums(g, xr, weight, n, st, s1, s2);
        b = st.rstd * s1 / static_cast<double>(n);
        c = st.rstd * s2 / static_cast<double>(n);
      }
      gradWrite(g, xr, weight, n, st, b, c, gradIn != nullptr ? gradIn + r * n : nullptr, pw, pb);
    }
  });
  for (auto [part, dst] : {std::pair{&partW, gradWeight}, std::pair{&partB, gradBias}}) {
    if (dst == nullptr) continue;
    for (int64_t k = 0; k < n; k++) {
      double s = 0;
      for (int64_t t = 0; t < chunks; t++) s += (*part)[t * n + k];
      dst[k] = static_cast<float>(s);
    }
  }
}

}  // namespace kiln
