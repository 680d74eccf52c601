// Deferred elementwise programs (src/native/fusion.ts): a chain of float32 unary and binary ops
// over contiguous operands, evaluated in one pass block by block, so the intermediates stay in
// L1-sized registers instead of round-tripping through memory.
#pragma once
#include <cstdint>

namespace kiln {

/** Instructions a program may hold (and so registers, one per instruction). */
constexpr int kMaxProgram = 16;

enum class InstrKind : int32_t { kLoad = 0, kUnary = 1, kBinary = 2 };

/**
 * One instruction; its result is register `index of the instruction`. kLoad: input `op` (a whole
 * run of n elements, or one element broadcast when it is a scalar input); kUnary: unary op `op`
 * of register a; kBinary: binary op `op` of registers a and b (both earlier instructions).
 */
struct Instr {
  InstrKind kind;
  int32_t op;
  int32_t a;
  int32_t b;
};

/**
 * Evaluates the program over elements [0, n) (its last instruction is an op, not a load; the
 * addon checks that): the last instruction's value is written to `out` when it is not null,
 * otherwise summed block by block (as sumContiguousF32 sums) and the sum returned. inputs[i] points
 * at input i's first element; scalar[i] says it is one element broadcast to all n. A multiply or
 * divide by a scalar, an add or subtract of a scalar and a relu in a row run as one pass (fusion.cc,
 * Step) with the bits of the separate ops.
 */
double evalProgramF32(const Instr* program, int count, const float* const* inputs, const bool* scalar,
                      float* out, int64_t n);

}  // namespace kiln
