#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

thread_local bool insideRegion = false;

// After a region, workers spin this long before sleeping: a training step runs many short regions
// back to back, and waking a sleeping thread costs tens of microseconds on a busy machine.
constexpr auto kSpinFor = std::chrono::microseconds(200);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int slot = 1; slot < threads_; slot++) workers_.emplace_back([this, slot] { workerLoop(slot); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const { return threads_; }

  void run(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
    std::unique_lock<std::mutex> owner(regionMu_, std::try_to_lock);
    if (insideRegion || !owner.owns_lock() || threads_ == 1 || tasks <= 1) {
      for (int64_t t = 0; t < tasks; t++) fn(t, 0);
      return;
    }
    fn_ = &fn;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    const int helpers = static_cast<int>(std::min<int64_t>(threads_ - 1, tasks - 1));
    active_.store(helpers, std::memory_order_relaxed);
    helpers_.store(helpers, std::memory_order_relaxed);
    {
      // Under the lock, so a worker about to sleep cannot miss the new generation.
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    drain(0);
    // Helpers finish their last task quickly; spin briefly, then sleep.
    for (int spin = 0; active_.load(std::memory_order_acquire) != 0; spin++) {
      if (spin > 20000) {
        std::unique_lock<std::mutex> lock(mu_);
        done_.wait(lock, [this] { return active_.load(std::memory_order_acquire) == 0; });
        break;
      }
      cpuRelax();
    }
    fn_ = nullptr;
  }

 private:
  void drain(int slot) {
    insideRegion = true;
    for (;;) {
      const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks_) break;
      (*fn_)(t, slot);
    }
    insideRegion = false;
  }

  void workerLoop(int slot) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_acquire);
      const auto spinUntil = std::chrono::steady_clock::now() + kSpinFor;
      for (int i = 0; g == seen; i++) {
        cpuRelax();
        g = generation_.load(std::memory_order_acquire);
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > spinUntil) break;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      if (slot > helpers_.load(std::memory_order_relaxed)) continue;
      drain(slot);
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_one();
      }
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex regionMu_;  // one region at a time (several JS threads may share the addon)
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> helpers_{0};
  bool stop_ = false;
  const std::function<void(int64_t, int)>* fn_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
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
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* p = new Pool(configuredThreads());
  return *p;
}

}  // namespace

int poolThreads() { return pool().threads(); }

void parallelFor(int64_t tasks, const std::function<void(int64_t, int)>& fn) { pool().run(tasks, fn); }

}  // namespace kiln
