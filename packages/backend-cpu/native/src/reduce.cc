#include "reduce.h"

#include "vmath.h"
#include "vsum.h"

#include <cmath>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_X86 1
#endif

namespace kiln {

const char* const kReduceOps[] = {"sum", "prod", "max", "min"};
const int kReduceOpCount = 4;

namespace {

/** Sum of a contiguous run in double, four independent accumulators (vectorisable). */
double sumRun(const float* x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t e = 0;
  for (; e + 4 <= n; e += 4) {
    s0 += x[e];
    s1 += x[e + 1];
    s2 += x[e + 2];
    s3 += x[e + 3];
  }
  for (; e < n; e++) s0 += x[e];
  return (s0 + s1) + (s2 + s3);
}

#ifdef KILN_X86
__attribute__((target("avx2"))) double sumRunAvx2(const float* x, int64_t n) {
  SumAvx2 sum;
  sum.reset();
  int64_t e = 0;
  for (; e + 128 <= n; e += 128) {
    for (int pair = 0; pair < 4; pair += 2) {
      __m256 v[8];
      for (int j = 0; j < 8; j++) v[j] = _mm256_loadu_ps(x + e + 32 * pair + 8 * j);
      sum.add8(pair, v);
    }
  }
  for (; e + 8 <= n; e += 8) sum.add1(_mm256_loadu_ps(x + e));
  double s = sum.total();
  for (; e < n; e++) s += x[e];
  return s;
}
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif

}  // namespace

double sumContiguousF32(const float* x, int64_t n) {
#ifdef KILN_X86
  if (kHasAvx2) return sumRunAvx2(x, n);
#endif
  return sumRun(x, n);
}

namespace {

/** max (or min) with NaN propagation; `v > acc ? v : acc` vectorises to maxps, NaN is tracked apart. */
template <bool kMax>
float extremeRun(const float* x, int64_t n, int64_t stride) {
  float acc = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  bool nan = false;
  if (stride == 1) {
    float m[8];
    for (int l = 0; l < 8; l++) m[l] = acc;
    int64_t e = 0;
    for (; e + 8 <= n; e += 8) {
      for (int l = 0; l < 8; l++) {
        const float v = x[e + l];
        nan |= v != v;
        m[l] = kMax ? (v > m[l] ? v : m[l]) : (v < m[l] ? v : m[l]);
      }
    }
    for (int l = 0; l < 8; l++) acc = kMax ? (m[l] > acc ? m[l] : acc) : (m[l] < acc ? m[l] : acc);
    for (; e < n; e++) {
      const float v = x[e];
      nan |= v != v;
      acc = kMax ? (v > acc ? v : acc) : (v < acc ? v : acc);
    }
  } else {
    for (int64_t e = 0; e < n; e++) {
      const float v = x[e * stride];
      nan |= v != v;
      acc = kMax ? (v > acc ? v : acc) : (v < acc ? v : acc);
    }
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : acc;
}

float foldRun(int op, const float* x, int64_t n, int64_t stride) {
  switch (op) {
    case 0: {
      if (stride == 1) return static_cast<float>(sumContiguousF32(x, n));
      double s = 0;
      for (int64_t e = 0; e < n; e++) s += x[e * stride];
      return static_cast<float>(s);
    }
    case 1: {
      double p = 1;
      for (int64_t e = 0; e < n; e++) p *= x[e * stride];
      return static_cast<float>(p);
    }
    case 2: return extremeRun<true>(x, n, stride);
    default: return extremeRun<false>(x, n, stride);
  }
}

}  // namespace

void reduceF32(int op, const float* x, float* out, const Layout<2>& kept, int64_t runLength, int64_t runStride) {
  const int64_t outputs = kept.numel();
  const int threads = poolThreads();
  if (outputs == 1 && op == 0 && runStride == 1 && runLength >= kParallelGrain && threads > 1) {
    // One long contiguous sum: fixed pieces, partial sums combined in order (deterministic).
    const int64_t pieces = 4 * threads;
    const int64_t step = (runLength + pieces - 1) / pieces;
    std::vector<double> partial(pieces, 0.0);
    const float* base = x + kept.offsets[0];
    parallelFor(pieces, [&](int64_t t, int) {
      const int64_t e0 = t * step, e1 = std::min(runLength, e0 + step);
      if (e1 > e0) partial[t] = sumContiguousF32(base + e0, e1 - e0);
    });
    double s = 0;
    for (double p : partial) s += p;
    out[kept.offsets[1]] = static_cast<float>(s);
    return;
  }
  if (op == 0 && kept.rank == 1 && kept.strides[0][0] == 1 && runStride != 1 && runLength > 1) {
    // Column sums (e.g. a bias gradient): accumulate whole rows into a strip of double sums.
    const int64_t cols = kept.shape[0];
    const int64_t strip = 256;
    parallelFor((cols + strip - 1) / strip, [&](int64_t t, int) {
      const int64_t c0 = t * strip, w = std::min(strip, cols - c0);
      double acc[256] = {};
      const float* xr = x + kept.offsets[0] + c0;
      for (int64_t r = 0; r < runLength; r++, xr += runStride)
        for (int64_t c = 0; c < w; c++) acc[c] += xr[c];
      float* o = out + kept.offsets[1] + (c0 * kept.strides[1][0]);
      for (int64_t c = 0; c < w; c++) o[c * kept.strides[1][0]] = static_cast<float>(acc[c]);
    });
    return;
  }
  forEachRow(
      kept,
      [&](const int64_t* off, int64_t n, const int64_t* s) {
        for (int64_t e = 0; e < n; e++)
          out[off[1] + e * s[1]] = foldRun(op, x + off[0] + e * s[0], runLength, runStride);
      },
      std::max<int64_t>(1, runLength));
}

namespace {

#ifdef KILN_X86
/** sum(exp(x - shift)), optionally storing each exp into `out`. */
__attribute__((target("avx2,fma"))) double expSumAvx2(const float* x, int64_t n, float shift, float* out) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t e = 0;
  for (; e + 8 <= n; e += 8) {
    const __m256 v = vmath::exp(_mm256_sub_ps(_mm256_loadu_ps(x + e), s));
    if (out != nullptr) _mm256_storeu_ps(out + e, v);
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(a0, a1));
  double sum = (t[0] + t[1]) + (t[2] + t[3]);
  for (; e < n; e++) {
    const float v = std::exp(x[e] - shift);
    if (out != nullptr) out[e] = v;
    sum += v;
  }
  return sum;
}
#endif

double expSum(const float* x, int64_t n, float shift, float* out) {
#ifdef KILN_X86
  if (kHasAvx2) return expSumAvx2(x, n, shift, out);
#endif
  double sum = 0;
  for (int64_t e = 0; e < n; e++) {
    const float v = std::exp(x[e] - shift);
    if (out != nullptr) out[e] = v;
    sum += v;
  }
  return sum;
}

}  // namespace

void softmaxF32(SoftmaxMode mode, const float* x, float* out, const Layout<2>& rows, int64_t n) {
  forEachRow(rows, [&](const int64_t* off, int64_t m, const int64_t* s) {
    for (int64_t r = 0; r < m; r++) {
      const float* xr = x + off[0] + r * s[0];
      float* orow = out + off[1] + r * s[1];
      const float max = extremeRun<true>(xr, n, 1);
      // An all -inf row shifts by 0, so softmax gives NaN and logsumexp -inf, as PyTorch does.
      const float shift = std::isinf(max) ? 0.0f : max;
      if (mode == SoftmaxMode::kSoftmax) {
        const double sum = expSum(xr, n, shift, orow);
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t k = 0; k < n; k++) orow[k] *= inv;
      } else {
        const double sum = expSum(xr, n, shift, nullptr);
        const double lse = std::log(sum) + shift;
        if (mode == SoftmaxMode::kLogsumexp) {
          *orow = static_cast<float>(lse);
        } else {
          for (int64_t k = 0; k < n; k++) orow[k] = static_cast<float>(xr[k] - lse);
        }
      }
    }
  }, 4 * std::max<int64_t>(1, n));
}

}  // namespace kiln
