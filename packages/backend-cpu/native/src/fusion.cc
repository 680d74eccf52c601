#include "fusion.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "elementwise.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_X86 1
#endif

namespace kiln {

namespace {

// Elements per chunk: a few registers of 16 KiB stay in L2 while each op streams through them,
// and the per-op call overhead is paid once per 4096 elements.
constexpr int64_t kChunk = 4096;

template <int NOPS>
Layout<NOPS> contiguous(int64_t n) {
  Layout<NOPS> L;
  L.rank = 1;
  L.shape[0] = n;
  for (int k = 0; k < NOPS; k++) L.strides[k][0] = 1;
  return L;
}

/** Sum in double with independent accumulators (one chain would serialise on the add latency). */
double sumRunPortable(const float* x, int64_t n) {
  double acc[8] = {};
  int64_t e = 0;
  for (; e + 8 <= n; e += 8)
    for (int j = 0; j < 8; j++) acc[j] += x[e + j];
  for (; e < n; e++) acc[0] += x[e];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

#ifdef KILN_X86
/** The same sum, 16 floats a step widened to four vectors of doubles. */
__attribute__((target("avx2"))) double sumRunAvx2(const float* x, int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t e = 0;
  for (; e + 16 <= n; e += 16)
    for (int j = 0; j < 4; j++) acc[j] = _mm256_add_pd(acc[j], _mm256_cvtps_pd(_mm_loadu_ps(x + e + 4 * j)));
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])));
  double total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; e < n; e++) total += x[e];
  return total;
}
#endif

using SumRun = double (*)(const float*, int64_t);

SumRun sumRun() {
#ifdef KILN_X86
  static const SumRun chosen = __builtin_cpu_supports("avx2") ? sumRunAvx2 : sumRunPortable;
  return chosen;
#else
  return sumRunPortable;
#endif
}

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
  const SumRun sum = sumRun();
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
          case InstrKind::kUnary: {
            Layout<2> L = contiguous<2>(len);
            L.strides[0][0] = broadcast[in.a] ? 0 : 1;
            unaryF32(in.op, value[in.a], dst, L);
            value[i] = dst;
            break;
          }
          case InstrKind::kBinary: {
            Layout<3> L = contiguous<3>(len);
            L.strides[0][0] = broadcast[in.a] ? 0 : 1;
            L.strides[1][0] = broadcast[in.b] ? 0 : 1;
            binaryF32(in.op, value[in.a], value[in.b], dst, L);
            value[i] = dst;
            break;
          }
        }
      }
      if (!out) acc += sum(value[count - 1], len);
    }
    partial[static_cast<size_t>(t)] = acc;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace kiln
