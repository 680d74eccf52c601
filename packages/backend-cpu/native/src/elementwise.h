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

void unaryF32(int op, const float* x, float* out, const Layout<2>& layout);
void binaryF32(int op, const float* a, const float* b, float* out, const Layout<3>& layout);

}  // namespace kiln
