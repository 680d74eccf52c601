// float32 elementwise kernels. Results match the TypeScript kernels, which evaluate in double
// precision and round once: the exactly rounded ops (+ - * /, sqrt, min/max, rounding) are the same
// in float, and the transcendental ones are evaluated here in double too.
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
/** Comparisons of float32 operands into a bool (0/1 byte) output; NaN compares unequal to all. */
void compareF32(int op, const float* a, const float* b, uint8_t* out, const Layout<3>& layout);
/** Strided float32 copy (operands: src, dst); a 2-d transpose goes through cache-sized tiles. */
void copyF32(const float* src, float* dst, const Layout<2>& layout);
/** out = cond ? a : b (operands: cond, a, b, out). */
void whereF32(const uint8_t* cond, const float* a, const float* b, float* out, const Layout<4>& layout);

}  // namespace kiln
