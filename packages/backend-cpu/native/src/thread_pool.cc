#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

thread_local bool insideRegion = false;

// After a region, workers spin this long before sleeping: a training step runs many short regions
// back to back, and waking a sleeping thread costs tens of microseconds (milliseconds when the
// machine is oversubscribed).
constexpr auto kSpinFor = std::chrono::microseconds(200);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/**
 * One parallel region. Threads claim tasks from `next` and count finished ones in `done`; the
 * caller returns once every task is done, without waiting for helpers that never got to run (on
 * a busy machine a woken thread may wait milliseconds for a core). A helper that wakes late holds
 * its own reference to the region, finds no task left and leaves without touching `fn`.
 */
struct Region {
  const std::function<void(int64_t, int)>* fn;
  int64_t tasks;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<int> nextSlot{1};
};

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; i++) workers_.emplace_back([this] { workerLoop(); });
  }

  int threads() const { return threads_; }

  void run(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
    std::unique_lock<std::mutex> owner(regionMu_, std::try_to_lock);
    if (insideRegion || !owner.owns_lock() || threads_ == 1 || tasks <= 1) {
      for (int64_t t = 0; t < tasks; t++) fn(t, 0);
      return;
    }
    auto region = std::make_shared<Region>();
    region->fn = &fn;
    region->tasks = tasks;
    {
      // Under the lock, so a worker about to sleep cannot miss the new region.
      std::lock_guard<std::mutex> lock(mu_);
      current_ = region;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(*region, 0);
    for (int spin = 0; region->done.load(std::memory_order_acquire) != tasks; spin++) {
      if (spin < 4096) cpuRelax();
      else std::this_thread::yield();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == region) current_.reset();
  }

 private:
  static void work(Region& r, int slot) {
    insideRegion = true;
    for (;;) {
      const int64_t t = r.next.fetch_add(1, std::memory_order_relaxed);
      if (t >= r.tasks) break;
      (*r.fn)(t, slot);
      r.done.fetch_add(1, std::memory_order_acq_rel);
    }
    insideRegion = false;
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_acquire);
      const auto spinUntil = std::chrono::steady_clock::now() + kSpinFor;
      for (int i = 0; g == seen; i++) {
        cpuRelax();
        g = generation_.load(std::memory_order_acquire);
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > spinUntil) break;
      }
      std::shared_ptr<Region> region;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        region = current_;
      }
      if (!region) continue;
      // Slots 1.. go to helpers in the order they join, so per-slot scratch is never shared.
      const int slot = region->nextSlot.fetch_add(1, std::memory_order_relaxed);
      if (slot < threads_) work(*region, slot);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex regionMu_;  // one region at a time (several JS threads may share the addon)
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::shared_ptr<Region> current_;
};

int configuredThreads() {
  if (const char* env = std::getenv("KILN_CPU_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1 && n <= 256) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Pool& pool() {
  // Leaked on purpose: its threads run until the process exits, and joining them from a static
  // destructor at exit could deadlock.
  static Pool* p = new Pool(configuredThreads());
  return *p;
}

}  // namespace

int poolThreads() { return pool().threads(); }

void parallelFor(int64_t tasks, const std::function<void(int64_t, int)>& fn) { pool().run(tasks, fn); }

}  // namespace kiln
