// Strided iteration for the elementwise, reduction and softmax kernels. The TypeScript side has
// already coalesced the operands (kernels/strided.ts), so a layout here is a short list of dims
// with one stride per operand; the innermost dim is a "row" handed to a tight loop. Work is split
// over the pool by rows, or by pieces of the row when there is only one.
#pragma once
#include <algorithm>
#include <cstdint>

#include "thread_pool.h"

namespace kiln {

constexpr int kMaxRank = 8;

template <int NOPS>
struct Layout {
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t strides[NOPS][kMaxRank] = {};
  int64_t offsets[NOPS] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    return n;
  }
};

/** Elements below which a kernel runs on the calling thread only. */
constexpr int64_t kParallelGrain = 1 << 15;

/**
 * Calls row(off, n, inner) for every innermost row (off: each operand's element offset of the
 * row's first element; inner: each operand's stride along the row). Pieces of the iteration space
 * run on the pool when it holds at least kParallelGrain elements, each weighted by `elementCost`
 * (a reduction whose outputs each fold a run of length L passes L).
 */
template <int NOPS, class Row>
void forEachRow(const Layout<NOPS>& L, Row row, int64_t elementCost = 1) {
  const int64_t total = L.numel();
  if (total == 0) return;
  int64_t inner[NOPS];
  if (L.rank == 0) {
    for (int k = 0; k < NOPS; k++) inner[k] = 0;
    row(L.offsets, int64_t{1}, inner);
    return;
  }
  const int last = L.rank - 1;
  const int64_t n = L.shape[last];
  for (int k = 0; k < NOPS; k++) inner[k] = L.strides[k][last];
  const int64_t rows = total / n;
  const int threads = poolThreads();
  const int64_t work = total * elementCost;
  const bool parallel = threads > 1 && work >= kParallelGrain;
  if (rows == 1) {
    // One long row: split it into pieces.
    const int64_t pieces = parallel ? std::max<int64_t>(1, std::min<int64_t>({4 * threads, n, work / (kParallelGrain / 4)})) : 1;
    const int64_t step = ((n + pieces - 1) / pieces + 15) / 16 * 16;
    parallelFor((n + step - 1) / step, [&](int64_t t, int) {
      int64_t off[NOPS];
      const int64_t e0 = t * step, e1 = std::min(n, e0 + step);
      for (int k = 0; k < NOPS; k++) off[k] = L.offsets[k] + e0 * inner[k];
      row(off, e1 - e0, inner);
    });
    return;
  }
  const int64_t rowsPerTask =
      parallel ? std::max<int64_t>(std::max<int64_t>(1, kParallelGrain / 8 / (n * elementCost)), rows / (8 * threads))
               : rows;
  parallelFor((rows + rowsPerTask - 1) / rowsPerTask, [&](int64_t t, int) {
    const int64_t r0 = t * rowsPerTask, r1 = std::min(rows, r0 + rowsPerTask);
    // Odometer position of row r0 over the outer dims.
    int64_t counter[kMaxRank];
    int64_t off[NOPS];
    for (int k = 0; k < NOPS; k++) off[k] = L.offsets[k];
    int64_t rem = r0;
    for (int d = last - 1; d >= 0; d--) {
      counter[d] = rem % L.shape[d];
      rem /= L.shape[d];
      for (int k = 0; k < NOPS; k++) off[k] += counter[d] * L.strides[k][d];
    }
    for (int64_t r = r0; r < r1; r++) {
      row(off, n, inner);
      for (int d = last - 1; d >= 0; d--) {
        if (++counter[d] < L.shape[d]) {
          for (int k = 0; k < NOPS; k++) off[k] += L.strides[k][d];
          break;
        }
        counter[d] = 0;
        for (int k = 0; k < NOPS; k++) off[k] -= L.strides[k][d] * (L.shape[d] - 1);
      }
    }
  });
}

}  // namespace kiln
