// SGEMM in the BLIS layout (Goto's algorithm). C is row-major, so the roles of A and B are those
// of BLIS's column-major loops swapped: B is the operand the micro-kernel loads as vectors, A the
// one it broadcasts, and the L2-resident block is a chunk of B.
//   for jc over N in NC columns          B block (KC x NC) packed into NR-wide micro-panels
//     for pc over K in equal steps <= KC   A block (MB x KC) packed into MR-tall micro-panels
//       for ib over M in MB rows           (both shared by all threads, read from L3)
//         tasks (a run of A's rows) x (NB columns of the B block), spread over the pool:
//           for ir: for jr: micro-kernel  the task's chunk of B (KC x NB) stays in L2 and is read
//                                         once per micro-panel of A; each micro-panel of A
//                                         (MR x KC) is read NB / NR times in a row
// The micro-kernel keeps an MR x NR tile of C in registers for the whole K step, loading NR floats
// of B and broadcasting MR of A per step: AVX-512 8x32 (16 zmm accumulators), AVX2+FMA 6x16
// (12 ymm), or a portable 4x8 that the compiler vectorises for the baseline ISA, chosen once at
// load time from cpuid with its KC (384 for AVX-512, else 256). On Zen 4 both SIMD kernels run
// at ~99% of the FMA peak on operands in L1/L2; the rest of the time goes to packing and to the
// cache misses of a real product.
// Packing zero-pads the edges, so the micro-kernel never branches; edge tiles and outputs whose
// columns are not contiguous go through a small local tile.
// The packing of the next blocks runs in the same parallel region as the products of the current
// ones (double-buffered): a K step costs one region instead of two, and threads that finish their
// products early pack instead of waiting at a barrier.
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

constexpr int64_t NB = 256;   // columns of B per task: KC x NB floats, 256-384 KiB, stay in L2
constexpr int64_t NC = 4096;  // columns of B packed at once (bounds the scratch for wide B)
constexpr int64_t MB = 3072;  // rows of A packed at once (bounds the scratch for tall A)
constexpr int kMaxMR = 8, kMaxNR = 32;

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t rsc, bool accumulate);

struct KernelSpec {
  int mr, nr;
  int64_t kc;  // K step: what a micro-panel of A and the task's chunk of B span
  MicroKernel fn;
  const char* name;
  bool avx2;  // AVX2+FMA usable (the GEMV path's kernels)
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

// 8 rows x 32 columns: 16 zmm accumulators, per K step 2 loads of B and 8 broadcasts of A for 16
// FMAs. On Zen 4 (two 256-bit FMA pipes, a 512-bit FMA issued as two halves) it peaks like the
// AVX2 kernel but with half the instructions; on CPUs with two 512-bit FMA units it doubles it.
__attribute__((target("avx512f"))) void avx512Kernel8x32(int64_t kc, const float* a, const float* b, float* c,
                                                          int64_t rsc, bool accumulate) {
  __m512 lo[8], hi[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    lo[i] = _mm512_setzero_ps();
    hi[i] = _mm512_setzero_ps();
  }
  // As above: a row of the tile spans two or three cache lines.
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + 16), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rsc + 31), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
      hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
    }
    a += 8;
    b += 32;
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    float* ci = c + i * rsc;
    if (accumulate) {
      lo[i] = _mm512_add_ps(lo[i], _mm512_loadu_ps(ci));
      hi[i] = _mm512_add_ps(hi[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, lo[i]);
    _mm512_storeu_ps(ci + 16, hi[i]);
  }
}
#endif

KernelSpec chooseKernel() {
  const char* force = std::getenv("KILN_CPU_GEMM_KERNEL");
  const bool portable = force != nullptr && std::strcmp(force, "portable") == 0;
  const bool avx2Only = force != nullptr && std::strcmp(force, "avx2") == 0;
#ifdef KILN_X86
  const bool avx2 = !portable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && !avx2Only && __builtin_cpu_supports("avx512f"))
    return {8, 32, 384, avx512Kernel8x32, "avx512 8x32", true};
  if (avx2) return {6, 16, 256, avx2Kernel6x16, "avx2+fma 6x16", true};
#endif
  (void)portable;
  (void)avx2Only;
  return {4, 8, 256, portableKernel<4, 8>, "portable 4x8", false};
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

#ifdef KILN_X86
/**
 * transposeIntoPanel's 8-row blocks through 8 x 8 AVX transposes: one 32-byte load per source row
 * and one 32-byte store per panel row for 64 elements, half the loads and stores of the 4 x 4 SSE
 * blocks (packing took 13% of a [128, 784] x [784, 256]^T product with those). Returns the rows done.
 */
__attribute__((target("avx"))) int transposeBlocks8(int rows, int64_t kc, const float* src, int64_t stride,
                                                    int width, float* dst) {
  int r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    const float* s = src + r0 * stride;
    float* d = dst + r0;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      __m256 x[8];
      for (int i = 0; i < 8; i++) x[i] = _mm256_loadu_ps(s + i * stride + p);
      // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
      __m256 t[8];
      for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(x[2 * i], x[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(x[2 * i], x[2 * i + 1]);
      }
      for (int i = 0; i < 2; i++) {
        const __m256 a = t[4 * i], b = t[4 * i + 1], c = t[4 * i + 2], e = t[4 * i + 3];
        x[4 * i] = _mm256_shuffle_ps(a, c, 0x44);
        x[4 * i + 1] = _mm256_shuffle_ps(a, c, 0xEE);
        x[4 * i + 2] = _mm256_shuffle_ps(b, e, 0x44);
        x[4 * i + 3] = _mm256_shuffle_ps(b, e, 0xEE);
      }
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(d + (p + i) * width, _mm256_permute2f128_ps(x[i], x[i + 4], 0x20));
        _mm256_storeu_ps(d + (p + i + 4) * width, _mm256_permute2f128_ps(x[i], x[i + 4], 0x31));
      }
    }
    for (; p < kc; p++)
      for (int i = 0; i < 8; i++) d[p * width + i] = s[i * stride + p];
  }
  return r0;
}
#endif

/**
 * dst[p * width + r] = src[r * stride + p] for r < rows, p < kc: `rows` contiguous runs of src
 * become columns of a micro-panel (A's rows; B's columns when B is a transposed view).
 */
void transposeIntoPanel(int rows, int64_t kc, const float* src, int64_t stride, int width, float* dst) {
  int r0 = 0;
#ifdef KILN_X86
  if (kernel().avx2) r0 = transposeBlocks8(rows, kc, src, stride, width, dst);
  // 4 x 4 blocks through SSE registers (baseline x86-64; the rows AVX left): a quarter of the loads
  // and stores of the scalar loop, which took ~9% of a 1024^3 product.
  for (; r0 + 4 <= rows; r0 += 4) {
    const float* s0 = src + r0 * stride;
    const float* s1 = s0 + stride;
    const float* s2 = s1 + stride;
    const float* s3 = s2 + stride;
    float* d = dst + r0;
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
      __m128 x0 = _mm_loadu_ps(s0 + p), x1 = _mm_loadu_ps(s1 + p);
      __m128 x2 = _mm_loadu_ps(s2 + p), x3 = _mm_loadu_ps(s3 + p);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      _mm_storeu_ps(d + p * width, x0);
      _mm_storeu_ps(d + (p + 1) * width, x1);
      _mm_storeu_ps(d + (p + 2) * width, x2);
      _mm_storeu_ps(d + (p + 3) * width, x3);
    }
    for (; p < kc; p++) {
      d[p * width] = s0[p];
      d[p * width + 1] = s1[p];
      d[p * width + 2] = s2[p];
      d[p * width + 3] = s3[p];
    }
  }
#endif
  for (; r0 < rows; r0++) {
    const float* s = src + r0 * stride;
    for (int64_t p = 0; p < kc; p++) dst[p * width + r0] = s[p];
  }
}

/** dst[p * W + j] = src[p * stride + j]: W contiguous floats a row (a fixed-size copy, inlined). */
template <int W>
void copyIntoPanel(int64_t kc, const float* src, int64_t stride, float* dst) {
  for (int64_t p = 0; p < kc; p++) std::memcpy(dst + p * W, src + p * stride, sizeof(float) * W);
}

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
    if (csa == 1) {
      transposeIntoPanel(h, kc, a + i0 * rsa, rsa, mr, dst);
    } else {
      for (int r = 0; r < h; r++) {
        const float* src = a + (i0 + r) * rsa;
        for (int64_t p = 0; p < kc; p++) dst[p * mr + r] = src[p * csa];
      }
    }
    for (int r = h; r < mr; r++)
      for (int64_t p = 0; p < kc; p++) dst[p * mr + r] = 0.0f;
  }
}

/** The NR-wide micro-panel of the kc x cols block of B at `b` (cols may exceed NR): dst[p * NR + j]. */
void packBPanel(int64_t kc, int64_t cols, const float* b, int64_t rsb, int64_t csb, int nr, float* dst) {
  const int w = static_cast<int>(std::min<int64_t>(nr, cols));
  if (csb == 1 && w == nr) {
    if (nr == 32) return copyIntoPanel<32>(kc, b, rsb, dst);
    if (nr == 16) return copyIntoPanel<16>(kc, b, rsb, dst);
    for (int64_t p = 0; p < kc; p++) std::memcpy(dst + p * nr, b + p * rsb, sizeof(float) * nr);
    return;
  }
  if (rsb == 1) {
    transposeIntoPanel(w, kc, b, csb, nr, dst);
  } else {
    for (int j = 0; j < w; j++) {
      const float* src = b + j * csb;
      for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = src[p * rsb];
    }
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
#ifdef KILN_X86
  const bool avx2 = kernel().avx2;
  const DotColumns dot = avx2 ? dotColumnsAvx2<M> : dotColumnsPortable<M>;
  const AxpyRows axpy = avx2 ? axpyRowsAvx2<M> : axpyRowsPortable<M>;
#else
  const DotColumns dot = dotColumnsPortable<M>;
  const AxpyRows axpy = axpyRowsPortable<M>;
#endif
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
  // Below ~0.5 MFLOP a parallel region costs more than it saves.
  if (threaded && (poolThreads() == 1 || m * n * k < (int64_t{1} << 18))) threaded = false;
  const int threads = threaded ? poolThreads() : 1;

  // K in equal steps of at most ks.kc (a short last step would cost a whole pass over C for little).
  const int64_t kSteps = (k + ks.kc - 1) / ks.kc;
  const int64_t kcMax = (k + kSteps - 1) / kSteps;
  const int64_t iBlocks = (m + MB - 1) / MB;
  const int64_t steps = (n + NC - 1) / NC * kSteps * iBlocks;
  // Step s = (jc, pc, ib), in that nesting: block `bBlock` of B (new when ib == 0) times a block of A.
  struct Step {
    int64_t index, jc, nc, pc, kc, ib, mb, bBlock;
  };
  auto stepAt = [&](int64_t s) {
    const int64_t bBlock = s / iBlocks, jc = bBlock / kSteps * NC, pc = bBlock % kSteps * kcMax, ib = s % iBlocks * MB;
    return Step{s, jc, std::min(NC, n - jc), pc, std::min(kcMax, k - pc), ib, std::min(MB, m - ib), bBlock};
  };

  // Two buffers each for packed A and B when there is more than one step: step s + 1 is packed
  // while step s computes.
  const int buffers = steps > 1 ? 2 : 1;
  const size_t aSize = static_cast<size_t>((std::min(MB, m) + mr - 1) / mr * mr * kcMax);
  const size_t bSize = static_cast<size_t>((std::min(NC, n) + nr - 1) / nr * nr * kcMax);
  float* aBuf = packedA.get(aSize * buffers);
  float* bBuf = packedB.get(bSize * buffers);
  auto aPackOf = [&](const Step& st) { return aBuf + st.index % buffers * aSize; };
  auto bPackOf = [&](const Step& st) { return bBuf + st.bBlock % buffers * bSize; };

  // Packing tasks of 8 micro-panels of A or the same number of elements of B (2 of the AVX-512
  // kernel's 32-wide panels), A's then (for a new B block) B's: one task per 256 columns of B left a
  // small product's pool waiting on the thread that drew it.
  const int64_t aPackChunk = 8, bPackChunk = std::max<int64_t>(1, aPackChunk * mr / nr);
  auto aPackTasks = [&](const Step& st) { return ((st.mb + mr - 1) / mr + aPackChunk - 1) / aPackChunk; };
  auto packTasks = [&](const Step& st) {
    return aPackTasks(st) + (st.ib == 0 ? ((st.nc + nr - 1) / nr + bPackChunk - 1) / bPackChunk : 0);
  };
  auto pack = [&](const Step& st, int64_t t) {
    const int64_t aTasks = aPackTasks(st);
    if (t < aTasks) {
      const int64_t p0 = t * aPackChunk, rows = std::min(st.mb - p0 * mr, aPackChunk * mr);
      packA(rows, st.kc, a.data + (st.ib + p0 * mr) * a.rowStride + st.pc * a.colStride, a.rowStride, a.colStride,
            mr, aPackOf(st) + p0 * mr * st.kc);
      return;
    }
    const int64_t p0 = (t - aTasks) * bPackChunk, p1 = std::min((st.nc + nr - 1) / nr, p0 + bPackChunk);
    for (int64_t pj = p0; pj < p1; pj++)
      packBPanel(st.kc, st.nc - pj * nr, b.data + st.pc * b.rowStride + (st.jc + pj * nr) * b.colStride, b.rowStride,
                 b.colStride, nr, bPackOf(st) + pj * nr * st.kc);
  };

  // Product tasks: chunks of NB columns (the L2-resident part of B) x runs of rows, the runs halved
  // until there are enough tasks for dynamic scheduling to balance the pool.
  const int64_t chunkPanels = std::max<int64_t>(1, NB / nr);
  struct Tiling {
    int64_t chunks, runs, runPanels;
  };
  auto tilingOf = [&](const Step& st) {
    const int64_t mPanels = (st.mb + mr - 1) / mr;
    Tiling tl{((st.nc + nr - 1) / nr + chunkPanels - 1) / chunkPanels, 1, mPanels};
    while (threads > 1 && tl.chunks * tl.runs < 8 * threads && tl.runPanels >= 8) {
      tl.runPanels = (tl.runPanels + 1) / 2;
      tl.runs = (mPanels + tl.runPanels - 1) / tl.runPanels;
    }
    return tl;
  };
  auto compute = [&](const Step& st, const Tiling& tl, int64_t t) {
    const bool acc = accumulate || st.pc > 0;
    const int64_t nPanels = (st.nc + nr - 1) / nr, mPanels = (st.mb + mr - 1) / mr;
    const int64_t pj0 = t / tl.runs * chunkPanels, pj1 = std::min(nPanels, pj0 + chunkPanels);
    const int64_t pi0 = t % tl.runs * tl.runPanels, pi1 = std::min(mPanels, pi0 + tl.runPanels);
    const float* aPack = aPackOf(st);
    const float* bPack = bPackOf(st);
    alignas(64) float tile[kMaxMR * kMaxNR];
    for (int64_t pi = pi0; pi < pi1; pi++) {
      const int64_t i = pi * mr, h = std::min<int64_t>(mr, st.mb - i);
      const float* ap = aPack + i * st.kc;
      for (int64_t pj = pj0; pj < pj1; pj++) {
        const int64_t j = pj * nr, w = std::min<int64_t>(nr, st.nc - j);
        const float* bp = bPack + j * st.kc;
        float* cTile = c.data + (st.ib + i) * c.rowStride + (st.jc + j) * c.colStride;
        if (h == mr && w == nr && c.colStride == 1) {
          ks.fn(st.kc, ap, bp, cTile, c.rowStride, acc);
          continue;
        }
        ks.fn(st.kc, ap, bp, tile, nr, false);
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
  };

  const Step first = stepAt(0);
  runTasks(threaded, packTasks(first), [&](int64_t t, int) { pack(first, t); });
  for (int64_t s = 0; s < steps; s++) {
    const Step st = stepAt(s);
    const Tiling tl = tilingOf(st);
    const int64_t computeTasks = tl.chunks * tl.runs;
    const bool more = s + 1 < steps;
    const Step next = stepAt(more ? s + 1 : s);
    const int64_t nextTasks = more ? packTasks(next) : 0;
    // Products first: the packing tasks at the end fill the gaps of threads that finish early.
    runTasks(threaded, computeTasks + nextTasks, [&](int64_t t, int) {
      if (t < computeTasks) {
        compute(st, tl, t);
      } else {
        pack(next, t - computeTasks);
      }
    });
  }
}

}  // namespace kiln
