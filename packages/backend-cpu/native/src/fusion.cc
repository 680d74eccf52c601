#include "fusion.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "elementwise.h"
#include "reduce.h"
#include "thread_pool.h"

namespace kiln {

namespace {

// Elements per block: each register holds one block (2 KiB), so the few registers a program
// uses stay in L1 while its ops stream through them. The ops are called on contiguous runs
// (unaryRunF32/binaryRunF32: no layout walk), whose cost is small against 512 elements. W2's
// program took 1.3 ms with 16 KiB registers through the strided entry points, 0.9 ms this way
// (2^22 elements, two threads; 1024 and 256 were no faster).
constexpr int64_t kChunk = 512;

/** Per-thread registers, allocated once: a program must not pay an allocation per call. */
float* registers(int slot) {
  static std::vector<std::unique_ptr<float[]>> perSlot(static_cast<size_t>(poolThreads()));
  auto& regs = perSlot[static_cast<size_t>(slot)];
  if (!regs) regs.reset(new float[kMaxProgram * kChunk]);
  return regs.get();
}

/**
 * One pass of the evaluation: instruction `last` on its own, or a run of instructions up to `last` merged
 * into one affine run (affineRunF32). Merging takes a multiply or divide by a scalar, an add or
 * subtract of a scalar after it, and a relu after those, as long as each merged intermediate is
 * read by the next instruction only: relu(x * 2 + 1) is one pass instead of three, with the same
 * bits (each op is still rounded on its own: x - c is x + (-c), x * c alone adds -0, which leaves
 * every value as it is, and x + c alone multiplies by 1).
 */
struct Step {
  int last;
  bool affine;
  int source;  // affine: the register the run reads
  float scale;
  float shift;
  bool divide;
  bool relu;
};

/** Instruction i run as it is; scale and shift start as the identity map, x * 1 + (-0). */
Step plainStep(int i) { return Step{i, false, 0, 1.0f, -0.0f, false, false}; }

/** The passes that evaluate `program`, merging runs of instructions into affine steps. */
std::vector<Step> planSteps(const Instr* program, int count, const float* const* inputs, const bool* scalar) {
  int uses[kMaxProgram] = {};
  for (int i = 0; i < count; i++) {
    if (program[i].kind == InstrKind::kLoad) continue;
    uses[program[i].a]++;
    if (program[i].kind == InstrKind::kBinary) uses[program[i].b]++;
  }
  auto scalarOf = [&](int r) -> const float* {
    const Instr& in = program[r];
    return in.kind == InstrKind::kLoad && scalar[in.op] ? inputs[in.op] : nullptr;
  };
  // Instruction i as "register x <op> scalar c" (or "c <op> x" when the op commutes).
  auto scalarOperand = [&](int i, bool commutes, int& x, float& c) {
    const Instr& in = program[i];
    if (in.kind != InstrKind::kBinary) return false;
    const float* right = scalarOf(in.b);
    const float* left = scalarOf(in.a);
    if (right && !left) {
      x = in.a;
      c = *right;
      return true;
    }
    if (left && !right && commutes) {
      x = in.b;
      c = *left;
      return true;
    }
    return false;
  };
  // The instruction that may absorb register r: the next one that is not a load (loads run no
  // pass; the program records an op's scalar operand just before the op), when it is r's only reader.
  auto soleReader = [&](int r) {
    int next = r + 1;
    while (next < count && program[next].kind == InstrKind::kLoad) next++;
    if (next == count || uses[r] != 1) return -1;
    const Instr& in = program[next];
    return in.a == r || (in.kind == InstrKind::kBinary && in.b == r) ? next : -1;
  };

  std::vector<Step> steps;
  for (int i = 0; i < count; i++) {
    const Instr& in = program[i];
    Step step = plainStep(i);
    float c;
    const bool scaling = in.op == kBinaryMul || in.op == kBinaryDiv;
    const bool shifting = in.op == kBinaryAdd || in.op == kBinarySub;
    if ((scaling || shifting) &&
        scalarOperand(i, in.op == kBinaryMul || in.op == kBinaryAdd, step.source, c)) {
      step.affine = true;
      if (scaling) {
        step.scale = c;
        step.divide = in.op == kBinaryDiv;
        const int next = soleReader(i);
        int from;
        float d;
        if (next >= 0 && (program[next].op == kBinaryAdd || program[next].op == kBinarySub) &&
            scalarOperand(next, program[next].op == kBinaryAdd, from, d) && from == i) {
          step.shift = program[next].op == kBinaryAdd ? d : -d;
          step.last = next;
        }
      } else {
        step.shift = in.op == kBinaryAdd ? c : -c;
      }
      const int after = soleReader(step.last);
      if (after >= 0 && program[after].kind == InstrKind::kUnary && program[after].op == kUnaryRelu) {
        step.relu = true;
        step.last = after;
      }
      // The loads between the merged instructions still run, each as its own (free) step.
      for (int j = i + 1; j < step.last; j++) {
        if (program[j].kind == InstrKind::kLoad) steps.push_back(plainStep(j));
      }
    }
    steps.push_back(step);
    i = step.last;
  }
  return steps;
}

}  // namespace

double evalProgramF32(const Instr* program, int count, const float* const* inputs, const bool* scalar,
                      float* out, int64_t n) {
  if (n <= 0 || count <= 0) return 0.0;
  const std::vector<Step> steps = planSteps(program, count, inputs, scalar);
  const int threads = poolThreads();
  const int64_t pieces =
      threads > 1 && n >= kParallelGrain ? std::min<int64_t>(4 * threads, (n + kChunk - 1) / kChunk) : 1;
  const int64_t step = ((n + pieces - 1) / pieces + kChunk - 1) / kChunk * kChunk;
  const int64_t tasks = (n + step - 1) / step;
  // A program that is one pass writing straight to `out`, or one affine pass summed without a
  // store (W2's, once merged), uses no register, so each task runs its whole range in one call
  // instead of paying a call's setup every 512 elements. Any other pass writes a register, which
  // holds kChunk elements.
  const auto passes = std::count_if(steps.begin(), steps.end(),
                                    [&](const Step& s) { return program[s.last].kind != InstrKind::kLoad; });
  const bool registerFree = passes == 1 && (out != nullptr || steps.back().affine);
  const int64_t block = registerFree ? step : kChunk;
  std::vector<double> partial(static_cast<size_t>(tasks), 0.0);
  parallelFor(tasks, [&](int64_t t, int slot) {
    float* const regs = registers(slot);
    const float* value[kMaxProgram];
    bool broadcast[kMaxProgram];  // the register is one value (a scalar input), read with stride 0
    double acc = 0.0;
    const int64_t end = std::min(n, (t + 1) * step);
    for (int64_t e0 = t * step; e0 < end; e0 += block) {
      const int64_t len = std::min(block, end - e0);
      bool summed = false;
      for (const Step& s : steps) {
        const int i = s.last;
        const Instr& in = program[i];
        const bool final = i == count - 1;
        // The last instruction writes straight into the output.
        float* dst = final && out ? out + e0 : regs + i * kChunk;
        broadcast[i] = false;
        value[i] = dst;
        if (s.affine) {
          if (final && !out) {
            // A summed program's last pass sums its values without storing them.
            acc += affineRunF32(value[s.source], nullptr, len, s.scale, s.shift, s.divide, s.relu);
            summed = true;
          } else {
            affineRunF32(value[s.source], dst, len, s.scale, s.shift, s.divide, s.relu);
          }
          continue;
        }
        switch (in.kind) {
          case InstrKind::kLoad:  // never the last instruction: read in place
            broadcast[i] = scalar[in.op];
            value[i] = scalar[in.op] ? inputs[in.op] : inputs[in.op] + e0;
            break;
          case InstrKind::kUnary:
            unaryRunF32(in.op, value[in.a], broadcast[in.a] ? 0 : 1, dst, len);
            break;
          case InstrKind::kBinary:
            binaryRunF32(in.op, value[in.a], broadcast[in.a] ? 0 : 1, value[in.b], broadcast[in.b] ? 0 : 1, dst, len);
            break;
        }
      }
      if (!out && !summed) acc += sumContiguousF32(value[count - 1], len);
    }
    partial[static_cast<size_t>(t)] = acc;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace kiln
