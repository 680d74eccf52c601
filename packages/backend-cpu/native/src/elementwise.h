// float32 elementwise kernels. The exactly rounded ops (+ - * /, sqrt, min/max, rounding) match the
// TypeScript kernels (double precision, rounded once) bit for bit. exp, tanh, sigmoid, silu,
// geluTanh and geluTanhBackward use vmath.h's float32 AVX2 formulations (a few ulp) where the CPU
// has AVX2 + FMA; the other transcendental ones, and all of them elsewhere, evaluate in double.
#pragma once
#include "strided.h"

namespace kiln {

/** Op names in code order; the addon exports these lists so TypeScript maps names to codes. */
extern const char* const kUnaryOps[];
extern const int kUnaryOpCount;
extern const char* const kBinaryOps[];
extern const int kBinaryOpCount;
extern const char* const kCompareOps[];
extern const int kCompareOpCount;

void unaryF32(int op, const float* x, float* out, const Layout<2>& layout);
void binaryF32(int op, const float* a, const float* b, float* out, const Layout<3>& layout);
/**
 * The same ops over one contiguous run of n outputs, for the fusion evaluator (native/src/fusion.cc),
 * which calls them many times a program on cache-sized blocks: no layout to walk, no thread pool.
 * An operand stride is 1 (a run) or 0 (one value broadcast). Same arithmetic as unaryF32/binaryF32.
 */
void unaryRunF32(int op, const float* x, int64_t sx, float* out, int64_t n);
void binaryRunF32(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n);
/** Codes of the ops the fusion evaluator merges (positions in kBinaryOps / kUnaryOps). */
constexpr int kBinaryAdd = 0, kBinarySub = 1, kBinaryMul = 2, kBinaryDiv = 3;
constexpr int kUnaryRelu = 12;
/**
 * A scalar affine map and an optional ReLU over one contiguous run, the fusion evaluator's merged
 * instruction: y = (x * scale) + shift, or (x / scale) + shift when `divide`, then relu(y) when
 * `relu`. Each op is rounded on its own (no fused multiply-add), so y has the bits of the separate
 * binary ops and relu. Writes y to out, or, when out is null, returns the sum of y accumulated as
 * sumContiguousF32 accumulates (nothing is stored).
 */
double affineRunF32(const float* x, float* out, int64_t n, float scale, float shift, bool divide, bool relu);
/** Comparisons of float32 operands into a bool (0/1 byte) output; NaN compares unequal to all. */
void compareF32(int op, const float* a, const float* b, uint8_t* out, const Layout<3>& layout);
/** Strided float32 copy (operands: src, dst); a 2-d transpose goes through cache-sized tiles. */
void copyF32(const float* src, float* dst, const Layout<2>& layout);
/** out = cond ? a : b (operands: cond, a, b, out). */
void whereF32(const uint8_t* cond, const float* a, const float* b, float* out, const Layout<4>& layout);

}  // namespace kiln
