// SGEMM in the BLIS layout (Goto's algorithm):
//   for jc over N in NC columns            B block  KC x NC  packed into NR-wide micro-panels
//     for pc over K in KC steps              (shared by all threads, read from L3)
//       for ib over M in MB rows             A block  MB x KC  packed into MR-tall micro-panels
//         tasks (ic over MC rows) x (jr chunk of columns), spread over the pool:
//           for jr: for ir: micro-kernel    B micro-panel (KC x NR) stays in L1, A block (MC x KC) in L2
// The micro-kernel keeps an MR x NR tile of C in registers for the whole KC loop: AVX2+FMA 6x16
// (12 ymm accumulators, 2 loads + 6 broadcasts per 12 FMAs), or a portable 4x8 kernel that the
// compiler vectorises for the baseline ISA. The kernel is chosen once at load time from cpuid.
// Packing zero-pads the edges, so the micro-kernel never branches; edge tiles and outputs whose
// columns are not contiguous go through a small local tile.
#include "sgemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_X86 1
#endif

#include "thread_pool.h"

namespace kiln {
namespace {

constexpr int64_t KC = 256;   // K step: an A micro-panel (MR x KC) and B micro-panel (KC x NR) fit L1
constexpr int64_t MC = 144;   // rows of A per task: MC x KC floats = 144 KiB, in L2
constexpr int64_t NC = 4096;  // columns of B per packed block
constexpr int64_t MB = 3072;  // rows of A packed at once (bounds the scratch for tall A)
constexpr int kMaxMR = 8, kMaxNR = 16;

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t rsc, bool accumulate);

struct KernelSpec {
  int mr, nr;
  MicroKernel fn;
  const char* name;
};

template <int MR, int NR>
void portableKernel(int64_t kc, const float* a, const float* b, float* c, int64_t rsc, bool accumulate) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; p++, a += MR, b += NR) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * rsc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) ci[j] += acc[i][j];
    } else {
      for (int j = 0; j < NR; j++) ci[j] = acc[i][j];
    }
  }
}

#ifdef KILN_X86
__attribute__((target("avx2,fma"))) void avx2Kernel6x16(int64_t kc, const float* a, const float* b, float* c,
                                                         int64_t rsc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  // The C tile is touched once per KC steps, most likely from L3 or memory: fetch it now, while
  // the FMAs run, instead of stalling on it at the end.
  for (int i = 0; i < 6; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += 6;
    b += 16;
  }
  __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < 6; i++) {
    float* ci = c + i * rsc;
    if (accumulate) {
      rows[i][0] = _mm256_add_ps(rows[i][0], _mm256_loadu_ps(ci));
      rows[i][1] = _mm256_add_ps(rows[i][1], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, rows[i][0]);
    _mm256_storeu_ps(ci + 8, rows[i][1]);
  }
}
#endif

KernelSpec chooseKernel() {
  const char* force = std::getenv("KILN_CPU_GEMM_KERNEL");
  const bool portable = force != nullptr && std::strcmp(force, "portable") == 0;
#ifdef KILN_X86
  if (!portable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {6, 16, avx2Kernel6x16, "avx2+fma 6x16"};
#endif
  (void)portable;
  return {4, 8, portableKernel<4, 8>, "portable 4x8"};
}

const KernelSpec& kernel() {
  static const KernelSpec spec = chooseKernel();
  return spec;
}

/** Grow-only, 64-byte aligned scratch, one per thread. */
struct Scratch {
  float* data = nullptr;
  size_t capacity = 0;
  float* get(size_t n) {
    if (n > capacity) {
      std::free(data);
      capacity = std::max(n, capacity * 2);
      data = static_cast<float*>(std::aligned_alloc(64, ((capacity * sizeof(float) + 63) / 64) * 64));
      if (data == nullptr) throw std::bad_alloc();
    }
    return data;
  }
  ~Scratch() { std::free(data); }
};

thread_local Scratch packedA, packedB;

/** rows x kc block of A at `a` into MR-tall micro-panels: dst[(i / MR) * MR * kc + p * MR + i % MR]. */
void packA(int64_t rows, int64_t kc, const float* a, int64_t rsa, int64_t csa, int mr, float* dst) {
  for (int64_t i0 = 0; i0 < rows; i0 += mr, dst += mr * kc) {
    const int h = static_cast<int>(std::min<int64_t>(mr, rows - i0));
    if (rsa == 1 && h == mr) {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = a + i0 + p * csa;
        for (int r = 0; r < mr; r++) dst[p * mr + r] = src[r];
      }
      continue;
    }
    for (int r = 0; r < h; r++) {
      const float* src = a + (i0 + r) * rsa;
      float* d = dst + r;
      if (csa == 1) {
        for (int64_t p = 0; p < kc; p++) d[p * mr] = src[p];
      } else {
        for (int64_t p = 0; p < kc; p++) d[p * mr] = src[p * csa];
      }
    }
    for (int r = h; r < mr; r++)
      for (int64_t p = 0; p < kc; p++) dst[p * mr + r] = 0.0f;
  }
}

/** NR-wide micro-panel `panel` of the kc x cols block of B at `b`: dst[p * NR + j % NR]. */
void packBPanel(int64_t kc, int64_t cols, const float* b, int64_t rsb, int64_t csb, int nr, float* dst) {
  const int w = static_cast<int>(std::min<int64_t>(nr, cols));
  if (csb == 1 && w == nr) {
    for (int64_t p = 0; p < kc; p++) std::memcpy(dst + p * nr, b + p * rsb, sizeof(float) * nr);
    return;
  }
  for (int j = 0; j < w; j++) {
    const float* src = b + j * csb;
    for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = src[p * rsb];
  }
  for (int j = w; j < nr; j++)
    for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = 0.0f;
}

void runTasks(bool threaded, int64_t tasks, const std::function<void(int64_t, int)>& fn) {
  if (threaded) {
    parallelFor(tasks, fn);
  } else {
    for (int64_t t = 0; t < tasks; t++) fn(t, 0);
  }
}


// ---------------------------------------------------------------- GEMV (M <= kGemvMaxM)
// A product with one to four rows of A reads each element of B once for at most four FMAs:
// packing B (a full read and write of it) would cost more than the product, so B is read in place.
//   B "transposed" (row stride 1: B[k, n] = W[n, k] with W's rows contiguous, the lm head x W^T):
//     C[i, n] = dot(A[i, :], W[n, :]), four columns at a time, columns over the pool.
//   B row-major (column stride 1): C[i, block] = sum_k A[i, k] B[k, block], an axpy per k row into a
//     local accumulator of kGemvBlock columns (L1), column blocks over the pool.
// A's rows are copied to a contiguous scratch first (at most 4 K floats).

constexpr int64_t kGemvMaxM = 4;
constexpr int64_t kGemvBlock = 512;

/** acc[i][q] (MxQ) = sum_p a[i][p] w[q][p] over k, for Q = 4 columns of W (rows of length k, pitch ldw). */
template <int M>
void dotColumnsPortable(int64_t k, const float* a, const float* w, int64_t ldw, int q, float* acc) {
  for (int j = 0; j < q; j++) {
    const float* wj = w + j * ldw;
    for (int i = 0; i < M; i++) {
      const float* ai = a + i * k;
      float s = 0;
      for (int64_t p = 0; p < k; p++) s += ai[p] * wj[p];
      acc[i * 4 + j] = s;
    }
  }
}

#ifdef KILN_X86
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int M>
__attribute__((target("avx2,fma"))) void dotColumnsAvx2(int64_t k, const float* a, const float* w, int64_t ldw,
                                                        int q, float* acc) {
  if (q < 4) return dotColumnsPortable<M>(k, a, w, ldw, q, acc);
  __m256 s[M][4];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < 4; j++) s[i][j] = _mm256_setzero_ps();
  const float* w0 = w;
  const float* w1 = w + ldw;
  const float* w2 = w + 2 * ldw;
  const float* w3 = w + 3 * ldw;
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    const __m256 b0 = _mm256_loadu_ps(w0 + p), b1 = _mm256_loadu_ps(w1 + p);
    const __m256 b2 = _mm256_loadu_ps(w2 + p), b3 = _mm256_loadu_ps(w3 + p);
    for (int i = 0; i < M; i++) {
      const __m256 ai = _mm256_loadu_ps(a + i * k + p);
      s[i][0] = _mm256_fmadd_ps(ai, b0, s[i][0]);
      s[i][1] = _mm256_fmadd_ps(ai, b1, s[i][1]);
      s[i][2] = _mm256_fmadd_ps(ai, b2, s[i][2]);
      s[i][3] = _mm256_fmadd_ps(ai, b3, s[i][3]);
    }
  }
  for (int i = 0; i < M; i++) {
    const float* ai = a + i * k;
    for (int j = 0; j < 4; j++) {
      float t = hsum(s[i][j]);
      const float* wj = w + j * ldw;
      for (int64_t r = p; r < k; r++) t += ai[r] * wj[r];
      acc[i * 4 + j] = t;
    }
  }
}

/** acc[i][0..w) += a[i][p] * row[0..w) for one k row (w <= kGemvBlock). */
template <int M>
__attribute__((target("avx2,fma"))) void axpyRowsAvx2(const float* av, const float* row, int64_t w, float* acc) {
  __m256 ai[M];
  for (int i = 0; i < M; i++) ai[i] = _mm256_set1_ps(av[i]);
  int64_t q = 0;
  for (; q + 8 <= w; q += 8) {
    const __m256 b = _mm256_loadu_ps(row + q);
    for (int i = 0; i < M; i++) {
      float* c = acc + i * kGemvBlock + q;
      _mm256_storeu_ps(c, _mm256_fmadd_ps(ai[i], b, _mm256_loadu_ps(c)));
    }
  }
  for (; q < w; q++)
    for (int i = 0; i < M; i++) acc[i * kGemvBlock + q] += av[i] * row[q];
}
#endif

template <int M>
void axpyRowsPortable(const float* av, const float* row, int64_t w, float* acc) {
  for (int i = 0; i < M; i++) {
    float* c = acc + i * kGemvBlock;
    const float ai = av[i];
    for (int64_t q = 0; q < w; q++) c[q] += ai * row[q];
  }
}

using DotColumns = void (*)(int64_t, const float*, const float*, int64_t, int, float*);
using AxpyRows = void (*)(const float*, const float*, int64_t, float*);

template <int M>
void gemvFixed(int64_t n, int64_t k, const float* a, MatrixView b, OutputView c, bool accumulate, bool threaded) {
  bool avx2 = false;
#ifdef KILN_X86
  avx2 = std::strcmp(kernel().name, "portable 4x8") != 0;
  const DotColumns dot = avx2 ? dotColumnsAvx2<M> : dotColumnsPortable<M>;
  const AxpyRows axpy = avx2 ? axpyRowsAvx2<M> : axpyRowsPortable<M>;
#else
  const DotColumns dot = dotColumnsPortable<M>;
  const AxpyRows axpy = axpyRowsPortable<M>;
#endif
  (void)avx2;
  auto store = [&](int64_t i, int64_t j, float v) {
    float* o = c.data + i * c.rowStride + j * c.colStride;
    *o = accumulate ? *o + v : v;
  };
  if (b.rowStride == 1) {
    // Columns of B are contiguous rows of W: 64 columns (~64 K floats of W) per task.
    const int64_t per = 64;
    const int64_t tasks = (n + per - 1) / per;
    runTasks(threaded, tasks, [&](int64_t t, int) {
      const int64_t j1 = std::min(n, (t + 1) * per);
      float acc[kGemvMaxM * 4];
      for (int64_t j = t * per; j < j1; j += 4) {
        const int q = static_cast<int>(std::min<int64_t>(4, j1 - j));
        dot(k, a, b.data + j * b.colStride, b.colStride, q, acc);
        for (int i = 0; i < M; i++)
          for (int jj = 0; jj < q; jj++) store(i, j + jj, acc[i * 4 + jj]);
      }
    });
    return;
  }
  const int64_t tasks = (n + kGemvBlock - 1) / kGemvBlock;
  runTasks(threaded, tasks, [&](int64_t t, int) {
    const int64_t j0 = t * kGemvBlock, w = std::min(kGemvBlock, n - j0);
    alignas(64) float acc[kGemvMaxM * kGemvBlock];
    std::fill(acc, acc + M * kGemvBlock, 0.0f);
    float av[kGemvMaxM];
    for (int64_t p = 0; p < k; p++) {
      for (int i = 0; i < M; i++) av[i] = a[i * k + p];
      axpy(av, b.data + p * b.rowStride + j0, w, acc);
    }
    for (int i = 0; i < M; i++)
      for (int64_t q = 0; q < w; q++) store(i, j0 + q, acc[i * kGemvBlock + q]);
  });
}

thread_local std::vector<float> gemvA;

/** C (=|+=) A B for m <= kGemvMaxM with B's rows or columns contiguous; false if it does not apply. */
bool gemv(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, OutputView c, bool accumulate,
          bool threaded) {
  if (m > kGemvMaxM || !(b.rowStride == 1 || b.colStride == 1)) return false;
  gemvA.resize(static_cast<size_t>(m * k));
  float* ac = gemvA.data();
  for (int64_t i = 0; i < m; i++)
    for (int64_t p = 0; p < k; p++) ac[i * k + p] = a.data[i * a.rowStride + p * a.colStride];
  if (threaded && (poolThreads() == 1 || m * n * k < (int64_t{1} << 18))) threaded = false;
  switch (m) {
    case 1: gemvFixed<1>(n, k, ac, b, c, accumulate, threaded); break;
    case 2: gemvFixed<2>(n, k, ac, b, c, accumulate, threaded); break;
    case 3: gemvFixed<3>(n, k, ac, b, c, accumulate, threaded); break;
    default: gemvFixed<4>(n, k, ac, b, c, accumulate, threaded); break;
  }
  return true;
}

}  // namespace

const char* sgemmKernelName() { return kernel().name; }

void sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, OutputView c, bool accumulate,
           bool threaded) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c.data[i * c.rowStride + j * c.colStride] = 0.0f;
    return;
  }
  if (gemv(m, n, k, a, b, c, accumulate, threaded)) return;
  const KernelSpec& ks = kernel();
  const int mr = ks.mr, nr = ks.nr;
  const int threads = threaded ? poolThreads() : 1;
  // Below ~0.5 MFLOP a parallel region costs more than it saves.
  if (threads > 1 && m * n * k < (int64_t{1} << 18)) threaded = false;
  const int64_t ncMax = std::min(NC, n);
  float* bPack = packedB.get(static_cast<size_t>((ncMax + nr - 1) / nr * nr * std::min(KC, k)));
  float* aPack = packedA.get(static_cast<size_t>((std::min(MB, m) + mr - 1) / mr * mr * std::min(KC, k)));

  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    const int64_t nPanels = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const bool acc = accumulate || pc > 0;
      const float* bBlock = b.data + pc * b.rowStride + jc * b.colStride;
      for (int64_t ib = 0; ib < m; ib += MB) {
        const int64_t mb = std::min(MB, m - ib);
        const int64_t mPanels = (mb + mr - 1) / mr;
        const float* aBlock = a.data + ib * a.rowStride + pc * a.colStride;
        const bool packB = ib == 0;
        // Pack this A block (and, once per pc, the B block), 8 micro-panels per task.
        const int64_t packChunk = 8;
        const int64_t aTasks = (mPanels + packChunk - 1) / packChunk;
        const int64_t bTasks = packB ? (nPanels + packChunk - 1) / packChunk : 0;
        runTasks(threaded, aTasks + bTasks, [&](int64_t t, int) {
          if (t < aTasks) {
            const int64_t p0 = t * packChunk, p1 = std::min(mPanels, p0 + packChunk);
            packA(std::min(mb, p1 * mr) - p0 * mr, kc, aBlock + p0 * mr * a.rowStride, a.rowStride, a.colStride, mr,
                  aPack + p0 * mr * kc);
          } else {
            const int64_t p0 = (t - aTasks) * packChunk, p1 = std::min(nPanels, p0 + packChunk);
            for (int64_t pj = p0; pj < p1; pj++)
              packBPanel(kc, nc - pj * nr, bBlock + pj * nr * b.colStride, b.rowStride, b.colStride, nr,
                         bPack + pj * nr * kc);
          }
        });
        // Compute tasks: MC-row blocks x column chunks, enough of them to balance the pool.
        // Row blocks of equal height (no short last block to leave a thread idle at the end).
        const int64_t rowBlocks = (mb + MC - 1) / MC;
        int64_t mc = ((mb + rowBlocks - 1) / rowBlocks + mr - 1) / mr * mr;
        int64_t chunkPanels = nPanels;
        auto tasksFor = [&] { return ((mb + mc - 1) / mc) * ((nPanels + chunkPanels - 1) / chunkPanels); };
        while (threads > 1 && tasksFor() < 8 * threads && chunkPanels > 4) chunkPanels = (chunkPanels + 1) / 2;
        while (threads > 1 && tasksFor() < 2 * threads && mc > 4 * mr) mc = (mc / 2 + mr - 1) / mr * mr;
        const int64_t nChunks = (nPanels + chunkPanels - 1) / chunkPanels;
        const int64_t mBlocks = (mb + mc - 1) / mc;
        runTasks(threaded, mBlocks * nChunks, [&](int64_t t, int) {
          const int64_t ic = (t / nChunks) * mc;
          const int64_t pj0 = (t % nChunks) * chunkPanels, pj1 = std::min(nPanels, pj0 + chunkPanels);
          const int64_t rows = std::min(mc, mb - ic);
          alignas(64) float tile[kMaxMR * kMaxNR];
          for (int64_t pj = pj0; pj < pj1; pj++) {
            const int64_t j = pj * nr;
            const int64_t w = std::min<int64_t>(nr, nc - j);
            const float* bp = bPack + pj * nr * kc;
            for (int64_t ir = 0; ir < rows; ir += mr) {
              const int64_t h = std::min<int64_t>(mr, rows - ir);
              const float* ap = aPack + (ic + ir) * kc;
              float* cTile = c.data + (ib + ic + ir) * c.rowStride + (jc + j) * c.colStride;
              if (h == mr && w == nr && c.colStride == 1) {
                ks.fn(kc, ap, bp, cTile, c.rowStride, acc);
                continue;
              }
              ks.fn(kc, ap, bp, tile, nr, false);
              for (int64_t r = 0; r < h; r++) {
                float* cr = cTile + r * c.rowStride;
                const float* tr = tile + r * nr;
                if (acc) {
                  for (int64_t q = 0; q < w; q++) cr[q * c.colStride] += tr[q];
                } else {
                  for (int64_t q = 0; q < w; q++) cr[q * c.colStride] = tr[q];
                }
              }
            }
          }
        });
      }
    }
  }
}

}  // namespace kiln
