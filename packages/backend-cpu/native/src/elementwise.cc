#include "elementwise.h"

#include <cmath>

#include "vmath.h"
#include "vsum.h"

namespace kiln {

const char* const kUnaryOps[] = {"neg",   "abs",     "exp",  "expm1", "log",   "log1p", "sqrt",
                                 "rsqrt", "sin",     "cos",  "tanh",  "sigmoid", "relu", "gelu",
                                 "geluTanh", "silu", "erf",  "sign",  "floor", "ceil",  "round",
                                 "trunc", "reciprocal"};
const int kUnaryOpCount = sizeof(kUnaryOps) / sizeof(kUnaryOps[0]);
const char* const kBinaryOps[] = {"add",          "sub",          "mul",     "div", "maximum", "minimum",
                                  "pow",          "geluBackward", "geluTanhBackward", "reluBackward"};
const int kBinaryOpCount = sizeof(kBinaryOps) / sizeof(kBinaryOps[0]);
const char* const kCompareOps[] = {"eq", "ne", "lt", "le", "gt", "ge"};
const int kCompareOpCount = sizeof(kCompareOps) / sizeof(kCompareOps[0]);

namespace {

inline double sigmoidD(double x) {
  // Split by sign so exp never overflows (as math.ts does).
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

template <class F>
void unaryLoop(const float* x, float* out, const Layout<2>& L, F f) {
  forEachRow(L, [&](const int64_t* off, int64_t n, const int64_t* s) {
    const float* xi = x + off[0];
    float* oi = out + off[1];
    if (s[0] == 1 && s[1] == 1) {
      for (int64_t e = 0; e < n; e++) oi[e] = f(xi[e]);
    } else {
      for (int64_t e = 0; e < n; e++) oi[e * s[1]] = f(xi[e * s[0]]);
    }
  });
}

template <class Out, class F>
void binaryLoop(const float* a, const float* b, Out* out, const Layout<3>& L, F f) {
  forEachRow(L, [&](const int64_t* off, int64_t n, const int64_t* s) {
    const float* ai = a + off[0];
    const float* bi = b + off[1];
    Out* oi = out + off[2];
    if (s[2] == 1 && s[0] == 1 && s[1] == 1) {
      for (int64_t e = 0; e < n; e++) oi[e] = f(ai[e], bi[e]);
    } else if (s[2] == 1 && s[0] == 1 && s[1] == 0) {
      const float bv = *bi;
      for (int64_t e = 0; e < n; e++) oi[e] = f(ai[e], bv);
    } else if (s[2] == 1 && s[0] == 0 && s[1] == 1) {
      const float av = *ai;
      for (int64_t e = 0; e < n; e++) oi[e] = f(av, bi[e]);
    } else {
      for (int64_t e = 0; e < n; e++) oi[e * s[2]] = f(ai[e * s[0]], bi[e * s[1]]);
    }
  });
}

inline float fromD(double v) { return static_cast<float>(v); }

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// g * gelu'(x), as math.ts: the x phi(x) and x sech^2(u) u' terms are taken as their limit 0 once
// phi or sech^2 underflows, so +-inf and huge inputs give 1 or 0 instead of inf * 0 = NaN.
inline double geluBackwardD(double g, double x) {
  const double pdf = kInvSqrt2Pi * std::exp(-0.5 * x * x);
  return g * (0.5 * (1.0 + std::erf(x * kSqrt1_2)) + (pdf == 0.0 ? 0.0 : x * pdf));
}

inline double geluTanhBackwardD(double g, double x) {
  const double x2 = x * x;
  const double t = std::tanh(kSqrt2OverPi * (x + 0.044715 * x2 * x));
  const double du = kSqrt2OverPi * (1.0 + 3.0 * 0.044715 * x2);
  const double sech2 = (1.0 - t) * (1.0 + t);
  return g * (0.5 * (1.0 + t) + (sech2 == 0.0 ? 0.0 : 0.5 * x * sech2 * du));
}

#ifdef KILN_X86
#define KILN_AVX2_FN __attribute__((target("avx2,fma")))

// One 8-lane load or store of a row piece: contiguous pieces go straight to memory; strided ones,
// broadcasts and the tail go through a small buffer, so every element takes the same arithmetic.
KILN_AVX2_FN inline __m256 load8(const float* p, int64_t stride, int64_t m) {
  if (stride == 1 && m == 8) return _mm256_loadu_ps(p);
  if (stride == 0) return _mm256_set1_ps(*p);
  alignas(32) float t[8] = {};
  for (int64_t i = 0; i < m; i++) t[i] = p[i * stride];
  return _mm256_load_ps(t);
}

KILN_AVX2_FN inline void store8(float* p, int64_t stride, int64_t m, __m256 v) {
  if (stride == 1 && m == 8) return _mm256_storeu_ps(p, v);
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int64_t i = 0; i < m; i++) p[i * stride] = t[i];
}

template <class Op>
KILN_AVX2_FN void unaryRowAvx2(const float* x, int64_t sx, float* o, int64_t so, int64_t n) {
  int64_t e = 0;
  // Contiguous rows (the common case) without the per-vector stride and tail tests.
  if (sx == 1 && so == 1)
    for (; e + 8 <= n; e += 8) _mm256_storeu_ps(o + e, Op::apply(_mm256_loadu_ps(x + e)));
  for (; e < n; e += 8) {
    const int64_t m = std::min<int64_t>(8, n - e);
    store8(o + e * so, so, m, Op::apply(load8(x + e * sx, sx, m)));
  }
}

template <class Op>
KILN_AVX2_FN void binaryRowAvx2(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t so,
                                int64_t n) {
  int64_t e = 0;
  // Contiguous rows, and a contiguous row with a broadcast scalar, without per-vector tests.
  if (so == 1 && sa == 1 && sb == 1) {
    for (; e + 8 <= n; e += 8)
      _mm256_storeu_ps(o + e, Op::apply(_mm256_loadu_ps(a + e), _mm256_loadu_ps(b + e)));
  } else if (so == 1 && sa == 1 && sb == 0) {
    const __m256 bv = _mm256_set1_ps(*b);
    for (; e + 8 <= n; e += 8) _mm256_storeu_ps(o + e, Op::apply(_mm256_loadu_ps(a + e), bv));
  } else if (so == 1 && sa == 0 && sb == 1) {
    const __m256 av = _mm256_set1_ps(*a);
    for (; e + 8 <= n; e += 8) _mm256_storeu_ps(o + e, Op::apply(av, _mm256_loadu_ps(b + e)));
  }
  for (; e < n; e += 8) {
    const int64_t m = std::min<int64_t>(8, n - e);
    store8(o + e * so, so, m, Op::apply(load8(a + e * sa, sa, m), load8(b + e * sb, sb, m)));
  }
}

struct ExpV {
  KILN_AVX2_FN static __m256 apply(__m256 x) { return vmath::exp(x); }
};
struct TanhV {
  KILN_AVX2_FN static __m256 apply(__m256 x) { return vmath::tanh(x); }
};
struct SigmoidV {
  KILN_AVX2_FN static __m256 apply(__m256 x) { return vmath::sigmoid(x); }
};
struct SiluV {
  KILN_AVX2_FN static __m256 apply(__m256 x) { return vmath::silu(x); }
};
struct GeluTanhV {
  KILN_AVX2_FN static __m256 apply(__m256 x) { return vmath::geluTanh(x); }
};
// The exactly rounded ops below give the same bits as the scalar loops (IEEE single-precision
// arithmetic, comparisons and blends); gcc does not vectorise the scalar forms well (relu's NaN
// test, the NaN-propagating max/min), and these run at memory speed instead of ~1 element a cycle.
// relu as Math.max(x, 0): NaN stays NaN, -0 becomes +0.
// max_ps(0, x) returns its second operand, x, when x is NaN and when both are zeros; adding +0
// then turns -0 into +0 and leaves every other value as it is.
struct ReluV {
  KILN_AVX2_FN static __m256 apply(__m256 x) {
    const __m256 zero = _mm256_setzero_ps();
    return _mm256_add_ps(_mm256_max_ps(zero, x), zero);
  }
};
struct AddV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
};
struct SubV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
};
struct MulV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
};
struct DivV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
};
// x > y ? x : y (max_ps returns its second operand unless the first is greater), and x + y where
// either is NaN, as the scalar loop.
struct MaximumV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) {
    return _mm256_blendv_ps(_mm256_max_ps(a, b), _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
};
struct MinimumV {
  KILN_AVX2_FN static __m256 apply(__m256 a, __m256 b) {
    return _mm256_blendv_ps(_mm256_min_ps(a, b), _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
};
// y > 0 ? g : 0 (NaN compares false): the mask keeps g's bits, or gives +0.
struct ReluBackwardV {
  KILN_AVX2_FN static __m256 apply(__m256 g, __m256 y) {
    return _mm256_and_ps(g, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ));
  }
};
struct GeluTanhBackwardV {
  KILN_AVX2_FN static __m256 apply(__m256 g, __m256 x) { return vmath::geluTanhBackward(g, x); }
};
#undef KILN_AVX2_FN
#endif

// The affine run (affineRunF32), each op rounded on its own as the eager kernels round it. No
// compiler may contract x * scale + shift into a fused multiply-add (GCC does so across statements
// by default in C++, wherever the target has FMA, e.g. arm64): the scalar form takes the product or
// quotient in double (a float product is exact there; a quotient rounded twice, to double then to
// float, is still the correctly rounded float quotient) and rounds it to float by an explicit
// conversion, which no contraction crosses; the AVX2 form below is compiled without the fma target.
template <bool kDivide, bool kRelu>
inline float affineScalar(float x, float scale, float shift) {
  const double xd = x;
  const float scaled = static_cast<float>(kDivide ? xd / scale : xd * scale);
  const float y = scaled + shift;
  return !kRelu || y > 0.0f || y != y ? y : 0.0f;
}

template <bool kDivide, bool kRelu, bool kSum>
double affineRun(const float* x, float* out, int64_t n, float scale, float shift) {
  double total = 0.0;
  for (int64_t e = 0; e < n; e++) {
    const float y = affineScalar<kDivide, kRelu>(x[e], scale, shift);
    if (kSum) total += y;
    else out[e] = y;
  }
  return total;
}

#ifdef KILN_X86
#define KILN_AVX2_ONLY __attribute__((target("avx2")))
template <bool kDivide, bool kRelu, bool kSum>
KILN_AVX2_ONLY inline __m256 affineV(__m256 x, __m256 scale, __m256 shift) {
  const __m256 y = _mm256_add_ps(kDivide ? _mm256_div_ps(x, scale) : _mm256_mul_ps(x, scale), shift);
  if (!kRelu) return y;
  const __m256 zero = _mm256_setzero_ps();
  // As ReluV; when the values are only summed, ReluV's "+ 0" (which makes -0 +0) is left out: a
  // -0 adds to the sum exactly as +0 does, and the sum starts at +0.
  return kSum ? _mm256_max_ps(zero, y) : _mm256_add_ps(_mm256_max_ps(zero, y), zero);
}

template <bool kDivide, bool kRelu, bool kSum>
KILN_AVX2_ONLY double affineRunAvx2(const float* x, float* out, int64_t n, float scale, float shift) {
  const __m256 s = _mm256_set1_ps(scale), b = _mm256_set1_ps(shift);
  SumAvx2 sum;
  sum.reset();
  int64_t e = 0;
  for (; e + 128 <= n; e += 128) {
    for (int pair = 0; pair < 4; pair += 2) {
      const int64_t at = e + 32 * pair;
      __m256 v[8];
      for (int j = 0; j < 8; j++) v[j] = affineV<kDivide, kRelu, kSum>(_mm256_loadu_ps(x + at + 8 * j), s, b);
      if (kSum) {
        sum.add8(pair, v);
      } else {
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + at + 8 * j, v[j]);
      }
    }
  }
  for (; e + 8 <= n; e += 8) {
    const __m256 v = affineV<kDivide, kRelu, kSum>(_mm256_loadu_ps(x + e), s, b);
    if (kSum) sum.add1(v);
    else _mm256_storeu_ps(out + e, v);
  }
  const double head = kSum ? sum.total() : 0.0;
  return head + affineRun<kDivide, kRelu, kSum>(x + e, out ? out + e : nullptr, n - e, scale, shift);
}
#undef KILN_AVX2_ONLY
#endif

template <bool kDivide, bool kRelu, bool kSum>
double affineDispatch(const float* x, float* out, int64_t n, float scale, float shift) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) return affineRunAvx2<kDivide, kRelu, kSum>(x, out, n, scale, shift);
#endif
  return affineRun<kDivide, kRelu, kSum>(x, out, n, scale, shift);
}

using AffineRow = double (*)(const float*, float*, int64_t, float, float);
// Indexed by divide * 4 + relu * 2 + sum.
const AffineRow kAffineRows[] = {
    affineDispatch<false, false, false>, affineDispatch<false, false, true>, affineDispatch<false, true, false>,
    affineDispatch<false, true, true>,   affineDispatch<true, false, false>,  affineDispatch<true, false, true>,
    affineDispatch<true, true, false>,   affineDispatch<true, true, true>,
};

using UnaryRow = void (*)(const float*, int64_t, float*, int64_t, int64_t);
using BinaryRow = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t);

// The ops with an 8-lane form, one table each for the strided kernels and the contiguous runs of
// the fusion evaluator; null where the CPU lacks AVX2 + FMA or the op has none. erf and the exact
// GELU keep double-precision std::erf.
UnaryRow unaryRowAvx2For(int op) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {
    switch (op) {
      case 2: return unaryRowAvx2<ExpV>;
      case 10: return unaryRowAvx2<TanhV>;
      case 11: return unaryRowAvx2<SigmoidV>;
      case 12: return unaryRowAvx2<ReluV>;
      case 14: return unaryRowAvx2<GeluTanhV>;
      case 15: return unaryRowAvx2<SiluV>;
      default: break;
    }
  }
#endif
  (void)op;
  return nullptr;
}

BinaryRow binaryRowAvx2For(int op) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) {
    switch (op) {
      case 0: return binaryRowAvx2<AddV>;
      case 1: return binaryRowAvx2<SubV>;
      case 2: return binaryRowAvx2<MulV>;
      case 3: return binaryRowAvx2<DivV>;
      case 4: return binaryRowAvx2<MaximumV>;
      case 5: return binaryRowAvx2<MinimumV>;
      case 8: return binaryRowAvx2<GeluTanhBackwardV>;
      case 9: return binaryRowAvx2<ReluBackwardV>;
      default: break;
    }
  }
#endif
  (void)op;
  return nullptr;
}

}  // namespace

void unaryF32(int op, const float* x, float* out, const Layout<2>& L) {
  if (const UnaryRow row = unaryRowAvx2For(op)) {
    return forEachRow(L, [&](const int64_t* off, int64_t n, const int64_t* s) {
      row(x + off[0], s[0], out + off[1], s[1], n);
    });
  }
  switch (op) {
    case 0: return unaryLoop(x, out, L, [](float v) { return -v; });
    case 1: return unaryLoop(x, out, L, [](float v) { return std::fabs(v); });
    case 2: return unaryLoop(x, out, L, [](float v) { return fromD(std::exp(double(v))); });
    case 3: return unaryLoop(x, out, L, [](float v) { return fromD(std::expm1(double(v))); });
    case 4: return unaryLoop(x, out, L, [](float v) { return fromD(std::log(double(v))); });
    case 5: return unaryLoop(x, out, L, [](float v) { return fromD(std::log1p(double(v))); });
    case 6: return unaryLoop(x, out, L, [](float v) { return std::sqrt(v); });
    case 7: return unaryLoop(x, out, L, [](float v) { return fromD(1.0 / std::sqrt(double(v))); });
    case 8: return unaryLoop(x, out, L, [](float v) { return fromD(std::sin(double(v))); });
    case 9: return unaryLoop(x, out, L, [](float v) { return fromD(std::cos(double(v))); });
    case 10: return unaryLoop(x, out, L, [](float v) { return fromD(std::tanh(double(v))); });
    case 11: return unaryLoop(x, out, L, [](float v) { return fromD(sigmoidD(v)); });
    // Math.max(x, 0): NaN stays NaN, -0 becomes +0.
    case 12: return unaryLoop(x, out, L, [](float v) { return v > 0.0f || v != v ? v : 0.0f; });
    case 13:
      return unaryLoop(x, out, L, [=](float v) {
        const double d = v;
        return fromD(0.5 * d * (1.0 + std::erf(d * kSqrt1_2)));
      });
    case 14:
      return unaryLoop(x, out, L, [=](float v) {
        const double d = v;
        return fromD(0.5 * d * (1.0 + std::tanh(kSqrt2OverPi * (d + 0.044715 * d * d * d))));
      });
    case 15: return unaryLoop(x, out, L, [](float v) { return fromD(double(v) * sigmoidD(v)); });
    case 16: return unaryLoop(x, out, L, [](float v) { return fromD(std::erf(double(v))); });
    // torch.sign is (0 < x) - (x < 0): NaN gives 0.
    case 17: return unaryLoop(x, out, L, [](float v) { return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : 0.0f; });
    case 18: return unaryLoop(x, out, L, [](float v) { return std::floor(v); });
    case 19: return unaryLoop(x, out, L, [](float v) { return std::ceil(v); });
    // Half to even, as torch.round (the default rounding mode).
    case 20: return unaryLoop(x, out, L, [](float v) { return std::nearbyint(v); });
    case 21: return unaryLoop(x, out, L, [](float v) { return std::trunc(v); });
    case 22: return unaryLoop(x, out, L, [](float v) { return 1.0f / v; });
    default: return;
  }
}

void binaryF32(int op, const float* a, const float* b, float* out, const Layout<3>& L) {
  if (const BinaryRow row = binaryRowAvx2For(op)) {
    return forEachRow(L, [&](const int64_t* off, int64_t n, const int64_t* s) {
      row(a + off[0], s[0], b + off[1], s[1], out + off[2], s[2], n);
    });
  }
  switch (op) {
    case 0: return binaryLoop(a, b, out, L, [](float x, float y) { return x + y; });
    case 1: return binaryLoop(a, b, out, L, [](float x, float y) { return x - y; });
    case 2: return binaryLoop(a, b, out, L, [](float x, float y) { return x * y; });
    case 3: return binaryLoop(a, b, out, L, [](float x, float y) { return x / y; });
    // NaN propagates, as Math.max / torch.maximum.
    case 4:
      return binaryLoop(a, b, out, L, [](float x, float y) { return x != x || y != y ? x + y : x > y ? x : y; });
    case 5:
      return binaryLoop(a, b, out, L, [](float x, float y) { return x != x || y != y ? x + y : x < y ? x : y; });
    // Math.pow, which differs from C's pow in two places: pow(x, NaN) and pow(+-1, +-inf) are NaN.
    case 6:
      return binaryLoop(a, b, out, L, [](float x, float y) {
        if (y != y || (std::isinf(y) && std::fabs(x) == 1.0f)) return NAN;
        return fromD(std::pow(double(x), double(y)));
      });
    case 7: return binaryLoop(a, b, out, L, [](float g, float x) { return fromD(geluBackwardD(g, x)); });
    case 8: return binaryLoop(a, b, out, L, [](float g, float x) { return fromD(geluTanhBackwardD(g, x)); });
    case 9: return binaryLoop(a, b, out, L, [](float g, float y) { return y > 0.0f ? g : 0.0f; });
    default: return;
  }
}

void unaryRunF32(int op, const float* x, int64_t sx, float* out, int64_t n) {
  if (const UnaryRow row = unaryRowAvx2For(op)) return row(x, sx, out, 1, n);
  Layout<2> L;
  L.rank = 1;
  L.shape[0] = n;
  L.strides[0][0] = sx;
  L.strides[1][0] = 1;
  unaryF32(op, x, out, L);
}

void binaryRunF32(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  if (const BinaryRow row = binaryRowAvx2For(op)) return row(a, sa, b, sb, out, 1, n);
  Layout<3> L;
  L.rank = 1;
  L.shape[0] = n;
  L.strides[0][0] = sa;
  L.strides[1][0] = sb;
  L.strides[2][0] = 1;
  binaryF32(op, a, b, out, L);
}

double affineRunF32(const float* x, float* out, int64_t n, float scale, float shift, bool divide, bool relu) {
  return kAffineRows[(divide ? 4 : 0) + (relu ? 2 : 0) + (out ? 0 : 1)](x, out, n, scale, shift);
}

void compareF32(int op, const float* a, const float* b, uint8_t* out, const Layout<3>& L) {
  switch (op) {
    case 0: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x == y; });
    case 1: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x != y; });
    case 2: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x < y; });
    case 3: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x <= y; });
    case 4: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x > y; });
    case 5: return binaryLoop(a, b, out, L, [](float x, float y) -> uint8_t { return x >= y; });
    default: return;
  }
}

void whereF32(const uint8_t* cond, const float* a, const float* b, float* out, const Layout<4>& L) {
  forEachRow(L, [&](const int64_t* off, int64_t n, const int64_t* s) {
    const uint8_t* ci = cond + off[0];
    const float* ai = a + off[1];
    const float* bi = b + off[2];
    float* oi = out + off[3];
    if (s[0] == 1 && s[1] == 1 && s[3] == 1 && s[2] == 0) {
      // where(mask, g, 0): the relu backward
      const float bv = *bi;
      for (int64_t e = 0; e < n; e++) oi[e] = ci[e] ? ai[e] : bv;
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
      for (int64_t e = 0; e < n; e++) oi[e] = ci[e] ? ai[e] : bi[e];
    } else {
      for (int64_t e = 0; e < n; e++) oi[e * s[3]] = ci[e * s[0]] ? ai[e * s[1]] : bi[e * s[2]];
    }
  });
}

void copyF32(const float* src, float* dst, const Layout<2>& L) {
  if (L.rank == 2 && L.strides[0][0] == 1 && L.strides[1][1] == 1 && L.strides[0][1] != 1) {
    // dst[i][j] = src[j][i]: walk 32x32 tiles so both sides stay in cache lines already loaded.
    const int64_t rows = L.shape[0], cols = L.shape[1];
    const int64_t ss = L.strides[0][1], ds = L.strides[1][0];
    const float* s0 = src + L.offsets[0];
    float* d0 = dst + L.offsets[1];
    constexpr int64_t kTile = 32;
    const int64_t rowTiles = (rows + kTile - 1) / kTile, colTiles = (cols + kTile - 1) / kTile;
    const bool parallel = rows * cols >= kParallelGrain;
    auto tile = [&](int64_t t, int) {
      const int64_t i0 = (t / colTiles) * kTile, j0 = (t % colTiles) * kTile;
      const int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) d0[i * ds + j] = s0[i + j * ss];
    };
    if (parallel) {
      parallelFor(rowTiles * colTiles, tile);
    } else {
      for (int64_t t = 0; t < rowTiles * colTiles; t++) tile(t, 0);
    }
    return;
  }
  unaryLoop(src, dst, L, [](float v) { return v; });
}

}  // namespace kiln
