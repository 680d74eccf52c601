// float32 transcendental functions for 8 lanes (AVX2 + FMA), for the elementwise and softmax
// kernels. Each is compiled for avx2,fma by its `target` attribute and called only where cpuid
// reports both (kHasAvx2Fma), so the addon stays one binary for every x86-64 CPU. Accuracy is a few
// ulp over the whole float range; NaN propagates, +-inf and -0 give the limits the double-precision
// TypeScript kernels give, and huge inputs saturate instead of producing NaN.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cmath>
#define KILN_X86 1

namespace kiln::vmath {

inline const bool kHasAvx2Fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

#define KILN_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

KILN_AVX2 __m256 set1(float v) { return _mm256_set1_ps(v); }

/** exp: Cephes' expf (range reduction by ln 2, degree-5 polynomial), ~1 ulp. */
KILN_AVX2 __m256 exp(__m256 x) {
  // hi: the largest x whose exp is finite in float; below lo the result is 0 (denormals flushed).
  const __m256 hi = set1(88.72283935546875f), lo = set1(-88.3762626647949f);
  const __m256 input = x;
  const __m256 isNan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, set1(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, set1(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, set1(-2.12194440e-4f), x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = set1(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, set1(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, set1(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, set1(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, set1(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, set1(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, z, _mm256_add_ps(x, set1(1.0f)));
  // 2^fx, split in two factors so fx = 128 (x near the overflow edge) stays representable.
  const __m256i n = _mm256_cvtps_epi32(fx);
  const __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
  const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  const __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  y = _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
  y = _mm256_andnot_ps(under, y);  // below the underflow edge: 0
  y = _mm256_blendv_ps(y, set1(INFINITY), over);
  return _mm256_blendv_ps(y, input, isNan);
}

/**
 * tanh: Cephes' tanhf polynomial below |x| = 0.625 (odd, so -0 stays -0), 1 - 2/(exp(2|x|) + 1)
 * above it with the sign of x; exp overflowing to inf gives exactly +-1.
 */
KILN_AVX2 __m256 tanh(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, set1(-0.0f));
  const __m256 a = _mm256_andnot_ps(set1(-0.0f), x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = set1(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, set1(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, set1(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, set1(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, set1(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 e = exp(_mm256_add_ps(a, a));
  const __m256 large = _mm256_or_ps(_mm256_sub_ps(set1(1.0f), _mm256_div_ps(set1(2.0f), _mm256_add_ps(e, set1(1.0f)))), sign);
  return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, set1(0.625f), _CMP_LT_OQ));
}

/** 1 / (1 + exp(-x)): exp(-x) = inf for x < -88 gives 0, and x = +inf gives 1. */
KILN_AVX2 __m256 sigmoid(__m256 x) {
  const __m256 e = exp(_mm256_xor_ps(x, set1(-0.0f)));
  return _mm256_div_ps(set1(1.0f), _mm256_add_ps(set1(1.0f), e));
}

KILN_AVX2 __m256 silu(__m256 x) { return _mm256_mul_ps(x, sigmoid(x)); }

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;

/** -2u for u = sqrt(2/pi)(x + 0.044715x^3): the exponent of exp in both GELU-tanh kernels. */
KILN_AVX2 __m256 geluTanhMinus2u(__m256 x) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  return _mm256_mul_ps(_mm256_fmadd_ps(x2, set1(-2.0f * kSqrt2OverPi * kGeluCubic), set1(-2.0f * kSqrt2OverPi)), x);
}

/**
 * 0.5x(1 + tanh(u)) = x sigmoid(2u) = x / (1 + exp(-2u)): no cancellation in 1 + tanh(u) for
 * negative x. At x = +inf it is inf, at -inf NaN (inf/inf), as 0.5x(1 + tanh(u)) is in double.
 */
KILN_AVX2 __m256 geluTanh(__m256 x) {
  return _mm256_div_ps(x, _mm256_add_ps(set1(1.0f), exp(geluTanhMinus2u(x))));
}

/**
 * g * gelu_tanh'(x). With E = exp(-2u) and s = 1/(1 + E) = 0.5(1 + tanh(u)), 1 - tanh^2(u) =
 * 4s(1 - s) and 1 - s = E s, so gelu' = s (1 + 2x u' (1 - s)). Where E is 0 or inf (s is 1 or 0)
 * the second term is 0 * inf: the limits 1 and 0 are taken instead.
 */
KILN_AVX2 __m256 geluTanhBackward(__m256 g, __m256 x) {
  const __m256 one = set1(1.0f);
  const __m256 e = exp(geluTanhMinus2u(x));
  const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
  // 1 - s: E s while s > 0.5 (no cancellation), 1 - s once E >= 1 (E s could lose s to denormals).
  const __m256 oneMinusS = _mm256_blendv_ps(_mm256_sub_ps(one, s), _mm256_mul_ps(e, s), _mm256_cmp_ps(e, one, _CMP_LT_OQ));
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 du2 = _mm256_fmadd_ps(x2, set1(6.0f * kSqrt2OverPi * kGeluCubic), set1(2.0f * kSqrt2OverPi));
  const __m256 d = _mm256_mul_ps(s, _mm256_fmadd_ps(_mm256_mul_ps(x, du2), oneMinusS, one));
  const __m256 saturated = _mm256_or_ps(_mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_EQ_OQ),
                                        _mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_EQ_OQ));
  return _mm256_mul_ps(g, _mm256_blendv_ps(d, s, saturated));
}

#undef KILN_AVX2

}  // namespace kiln::vmath

#endif
