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

}  // namespace

double evalProgramF32(const Instr* program, int count, const float* const* inputs, const bool* scalar,
                      float* out, int64_t n) {
  if (n <= 0 || count <= 0) return 0.0;
  const int threads = poolThreads();
  const int64_t pieces =
      threads > 1 && n >= kParallelGrain ? std::min<int64_t>(4 * threads, (n + kChunk - 1) / kChunk) : 1;
  const int64_t step = ((n + pieces - 1) / pieces + kChunk - 1) / kChunk * kChunk;
  const int64_t tasks = (n + step - 1) / step;
  std::vector<double> partial(static_cast<size_t>(tasks), 0.0);
  parallelFor(tasks, [&](int64_t t, int slot) {
    float* const regs = registers(slot);
    const float* value[kMaxProgram];
    bool broadcast[kMaxProgram];  // the register is one value (a scalar input), read with stride 0
    double acc = 0.0;
    const int64_t end = std::min(n, (t + 1) * step);
    for (int64_t e0 = t * step; e0 < end; e0 += kChunk) {
      const int64_t len = std::min(kChunk, end - e0);
      for (int i = 0; i < count; i++) {
        const Instr& in = program[i];
        // The last instruction writes straight into the output.
        float* dst = i == count - 1 && out ? out + e0 : regs + i * kChunk;
        broadcast[i] = false;
        switch (in.kind) {
          case InstrKind::kLoad:  // never the last instruction: read in place
            broadcast[i] = scalar[in.op];
            value[i] = scalar[in.op] ? inputs[in.op] : inputs[in.op] + e0;
            break;
          case InstrKind::kUnary:
            unaryRunF32(in.op, value[in.a], broadcast[in.a] ? 0 : 1, dst, len);
            value[i] = dst;
            break;
          case InstrKind::kBinary:
            binaryRunF32(in.op, value[in.a], broadcast[in.a] ? 0 : 1, value[in.b], broadcast[in.b] ? 0 : 1, dst, len);
            value[i] = dst;
            break;
        }
      }
      if (!out) acc += sumContiguousF32(value[count - 1], len);
    }
    partial[static_cast<size_t>(t)] = acc;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace kiln
