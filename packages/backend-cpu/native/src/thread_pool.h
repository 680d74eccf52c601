// The intra-op thread pool: one persistent set of std::threads sized to the machine, shared by
// every kernel. A parallel region hands out task indices from an atomic counter (dynamic
// scheduling: on a shared machine a preempted thread must not hold up a static share) and the
// calling thread works too. A region entered from inside a region, or while another JS thread
// (worker_threads) holds the pool, runs serially on the caller instead of waiting.
#pragma once
#include <cstdint>
#include <functional>

namespace kiln {

/** Threads a region may use, the caller included (KILN_CPU_THREADS or hardware_concurrency). */
int poolThreads();

/**
 * Runs fn(task, slot) for every task in [0, tasks) and returns when all are done. `slot` is in
 * [0, poolThreads()) and unique among the threads running at once (for per-thread scratch).
 */
void parallelFor(int64_t tasks, const std::function<void(int64_t task, int slot)>& fn);

}  // namespace kiln
