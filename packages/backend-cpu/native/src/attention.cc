#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sgemm.h"
#include "thread_pool.h"
#include "vmath.h"

namespace kiln {
namespace {

/**
 * Query rows per block. A block's products stop at the last key any of its rows may see, so smaller
 * blocks skip more of a causal mask's upper triangle (at L = S = 128, 32 rows compute 62.5% of the
 * full products, 64 rows 75%), but each product must stay large enough to keep the SGEMM
 * micro-kernel busy: 32 measured fastest at GPT shapes (head dim 64, 128 tokens) against 16 and 64.
 * The scratch is two rows x S matrices (16 KiB each at S = 128).
 */
constexpr int64_t kBlockRows = 32;

/** Masked scores take float's most negative finite value, not -inf (Hugging Face's convention). */
constexpr float kLowest = -std::numeric_limits<float>::max();

/**
 * The keys one query row may see: [0, limit) pass the causal test, and of those the mask's true
 * ones; `end` is one past the last allowed key, or S when none is (the row then weighs all S keys).
 */
struct RowKeys {
  const uint8_t* mask;  // this row's mask entries, maskStride apart; null: no mask
  int64_t maskStride;
  int64_t limit;
  int64_t end;
  bool anyAllowed;
};

/** A block of query rows: each row's keys, and `end`: keys at or past it weigh 0 in every row. */
struct BlockKeys {
  RowKeys rows[kBlockRows];
  int64_t end;
};

/** The last index below `limit` whose mask entry is true, or -1. */
int64_t lastAllowed(const uint8_t* mask, int64_t stride, int64_t limit) {
  int64_t j = limit - 1;
  if (stride == 1) {
    // Masked tails (causal masks, padding) are long runs of zero bytes: skip them 8 at a time.
    for (uint64_t word; j >= 7; j -= 8) {
      std::memcpy(&word, mask + j - 7, sizeof word);
      if (word != 0) break;
    }
  }
  while (j >= 0 && mask[j * stride] == 0) j--;
  return j;
}

BlockKeys blockKeys(const AttentionDims& d, const AttentionMask& mask, bool causal, int64_t b, int64_t h, int64_t i0,
                    int64_t rows) {
  BlockKeys bk;
  bk.end = 0;
  const int64_t s = d.keys;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t i = i0 + r;
    RowKeys& rk = bk.rows[r];
    // The queries are the last L of S positions (a key/value cache): query i sees keys up to i + S - L.
    rk.limit = causal ? std::clamp<int64_t>(i + s - d.queries + 1, 0, s) : s;
    rk.mask = mask.data == nullptr
                  ? nullptr
                  : mask.data + b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2];
    rk.maskStride = mask.strides[3];
    const int64_t last = rk.mask == nullptr ? rk.limit - 1 : lastAllowed(rk.mask, rk.maskStride, rk.limit);
    rk.anyAllowed = last >= 0;
    // Past a row's last allowed key its weights are exp(lowest - max) = 0, so neither they nor the
    // block's products past the furthest such key are computed (under a causal mask, most of the
    // upper triangle). A row with no allowed key weighs all S keys 1 / S instead, so it needs them all.
    rk.end = rk.anyAllowed ? last + 1 : s;
    bk.end = std::max(bk.end, rk.end);
  }
  return bk;
}

// ---------------------------------------------------------------- portable row loops

/** x[j] = x[j] * scale where key j is allowed, else lowest, for the n keys of one row. */
void scaleMaskRow(float* x, int64_t n, const RowKeys& rk, float scale) {
  const int64_t limit = std::min(n, rk.limit);
  for (int64_t j = 0; j < limit; j++)
    x[j] = rk.mask == nullptr || rk.mask[j * rk.maskStride] != 0 ? x[j] * scale : kLowest;
  for (int64_t j = limit; j < n; j++) x[j] = kLowest;
}

float rowMax(const float* x, int64_t n) {
  float m = kLowest;
  for (int64_t j = 0; j < n; j++) m = std::max(m, x[j]);
  return m;
}

/** x[j] = exp(x[j] - shift) in place; returns their sum (in double) when kSum. */
template <bool kSum>
double expRow(float* x, int64_t n, float shift) {
  double sum = 0;
  for (int64_t j = 0; j < n; j++) {
    x[j] = std::exp(x[j] - shift);
    if (kSum) sum += x[j];
  }
  return sum;
}

/** dp[j] = p[j] (dp[j] - delta) scale: dP becomes dS in place. */
void scoreGradRow(const float* p, float* dp, int64_t n, float delta, float scale) {
  for (int64_t j = 0; j < n; j++) dp[j] = p[j] * (dp[j] - delta) * scale;
}

// ---------------------------------------------------------------- AVX2 row loops (8 lanes)
#ifdef KILN_X86
#define KILN_AVX2_FN __attribute__((target("avx2,fma")))

/** scaleMaskRow for a row whose mask entries (if any) are contiguous bytes. */
KILN_AVX2_FN void scaleMaskRowAvx2(float* x, int64_t n, const RowKeys& rk, float scale) {
  const int64_t limit = std::min(n, rk.limit);
  const __m256 s = _mm256_set1_ps(scale), low = _mm256_set1_ps(kLowest);
  int64_t j = 0;
  for (; j + 8 <= limit; j += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j), s);
    if (rk.mask != nullptr) {
      const __m256i m = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rk.mask + j)));
      v = _mm256_blendv_ps(v, low, _mm256_castsi256_ps(_mm256_cmpeq_epi32(m, _mm256_setzero_si256())));
    }
    _mm256_storeu_ps(x + j, v);
  }
  for (; j < limit; j++) x[j] = rk.mask == nullptr || rk.mask[j] != 0 ? x[j] * scale : kLowest;
  for (; j < n; j++) x[j] = kLowest;
}

KILN_AVX2_FN float rowMaxAvx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(kLowest);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  alignas(32) float t[8];
  _mm256_store_ps(t, m);
  float r = kLowest;
  for (float v : t) r = std::max(r, v);
  for (; j < n; j++) r = std::max(r, x[j]);
  return r;
}

template <bool kSum>
KILN_AVX2_FN double expRowAvx2(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = vmath::exp(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(x + j, e);
    if (kSum) {
      a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
      a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
  }
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(a0, a1));
  return (t[0] + t[1]) + (t[2] + t[3]) + expRow<kSum>(x + j, n - j, shift);
}

KILN_AVX2_FN void scoreGradRowAvx2(const float* p, float* dp, int64_t n, float delta, float scale) {
  const __m256 d = _mm256_set1_ps(delta), s = _mm256_set1_ps(scale);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_sub_ps(_mm256_loadu_ps(dp + j), d));
    _mm256_storeu_ps(dp + j, _mm256_mul_ps(v, s));
  }
  scoreGradRow(p + j, dp + j, n - j, delta, scale);
}

#undef KILN_AVX2_FN
#endif

// ---------------------------------------------------------------- dispatch

void scaleMask(float* x, int64_t n, const RowKeys& rk, float scale) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma && (rk.mask == nullptr || rk.maskStride == 1)) return scaleMaskRowAvx2(x, n, rk, scale);
#endif
  scaleMaskRow(x, n, rk, scale);
}

float maxOf(const float* x, int64_t n) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) return rowMaxAvx2(x, n);
#endif
  return rowMax(x, n);
}

template <bool kSum>
double expShifted(float* x, int64_t n, float shift) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) return expRowAvx2<kSum>(x, n, shift);
#endif
  return expRow<kSum>(x, n, shift);
}

void scoreGrad(const float* p, float* dp, int64_t n, float delta, float scale) {
#ifdef KILN_X86
  if (vmath::kHasAvx2Fma) return scoreGradRowAvx2(p, dp, n, delta, scale);
#endif
  scoreGradRow(p, dp, n, delta, scale);
}

/** Per-thread scratch of at least n floats (grown, never shrunk: a training step repeats its sizes). */
float* scratch(std::vector<float>& buffer, int64_t n) {
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n));
  return buffer.data();
}

thread_local std::vector<float> weightsScratch, gradsScratch;

/**
 * scores (rows x n, row stride n) = Q_block K[0:n]^T, scaled and masked, up to each row's end; the
 * entries past it are left for the caller (their weights are 0).
 */
void blockScores(const float* qBlock, const float* kHead, int64_t rows, int64_t n, int64_t e, const BlockKeys& keys,
                 float scale, float* scores) {
  // K^T is K read with its strides swapped: no copy.
  sgemm(rows, n, e, MatrixView{qBlock, e, 1}, MatrixView{kHead, 1, e}, OutputView{scores, n, 1}, false, false);
  for (int64_t r = 0; r < rows; r++) scaleMask(scores + r * n, keys.rows[r].end, keys.rows[r], scale);
}

}  // namespace

void attentionF32(const AttentionDims& d, const float* q, const float* k, const float* v, const AttentionMask& mask,
                  float scale, bool causal, float* out, float* lse) {
  const int64_t l = d.queries, s = d.keys, e = d.headDim, ev = d.valueDim;
  const int64_t blocks = (l + kBlockRows - 1) / kBlockRows;
  // Every (batch, head, query block) is independent in the forward: one task each.
  parallelFor(d.batch * d.heads * blocks, [&](int64_t task, int) {
    const int64_t bh = task / blocks, i0 = task % blocks * kBlockRows, rows = std::min(kBlockRows, l - i0);
    const BlockKeys keys = blockKeys(d, mask, causal, bh / d.heads, bh % d.heads, i0, rows);
    const int64_t n = keys.end;
    float* p = scratch(weightsScratch, rows * n);
    blockScores(q + (bh * l + i0) * e, k + bh * s * e, rows, n, e, keys, scale, p);
    float inv[kBlockRows];
    for (int64_t r = 0; r < rows; r++) {
      float* x = p + r * n;
      const int64_t end = keys.rows[r].end;
      // A row with every key masked has max = lowest and weighs all keys exp(0) = 1, so 1 / S each.
      const float max = maxOf(x, end);
      const double sum = expShifted<true>(x, end, max);
      std::fill(x + end, x + n, 0.0f);
      lse[bh * l + i0 + r] = static_cast<float>(max + std::log(sum));
      inv[r] = static_cast<float>(1.0 / sum);
    }
    // out = (exp(scores - max) V) / sum: the normalisation on the Ev outputs, not the n weights.
    float* o = out + (bh * l + i0) * ev;
    sgemm(rows, ev, n, MatrixView{p, n, 1}, MatrixView{v + bh * s * ev, ev, 1}, OutputView{o, ev, 1}, false, false);
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < ev; c++) o[r * ev + c] *= inv[r];
  });
}

void attentionBackwardF32(const AttentionDims& d, const float* gradOut, const float* q, const float* k, const float* v,
                          const AttentionMask& mask, float scale, bool causal, const float* out, const float* lse,
                          float* gradQ, float* gradK, float* gradV) {
  const int64_t l = d.queries, s = d.keys, e = d.headDim, ev = d.valueDim;
  const bool scoresGrad = gradQ != nullptr || gradK != nullptr;
  // One task per (batch, head): its gradK and gradV sum over all its query blocks, and no other
  // task writes them.
  parallelFor(d.batch * d.heads, [&](int64_t bh, int) {
    const float* kHead = k + bh * s * e;
    const float* vHead = v + bh * s * ev;
    float* gk = gradK != nullptr ? gradK + bh * s * e : nullptr;
    float* gv = gradV != nullptr ? gradV + bh * s * ev : nullptr;
    // gradK and gradV rows [0, ready) hold sums so far. The blocks go last first: under a causal
    // mask the last reaches every key, so it writes them all and no pass zeroes them beforehand.
    int64_t ready = 0;
    auto zeroKeys = [&](int64_t from, int64_t to) {
      if (gk != nullptr) std::fill(gk + from * e, gk + to * e, 0.0f);
      if (gv != nullptr) std::fill(gv + from * ev, gv + to * ev, 0.0f);
    };
    for (int64_t block = (l + kBlockRows - 1) / kBlockRows - 1; block >= 0; block--) {
      const int64_t i0 = block * kBlockRows, rows = std::min(kBlockRows, l - i0);
      const BlockKeys keys = blockKeys(d, mask, causal, bh / d.heads, bh % d.heads, i0, rows);
      const int64_t n = keys.end;
      const bool accumulate = ready > 0;
      if (accumulate && n > ready) zeroKeys(ready, n);
      ready = std::max(ready, n);
      const float* qBlock = q + (bh * l + i0) * e;
      const float* gBlock = gradOut + (bh * l + i0) * ev;
      float* p = scratch(weightsScratch, rows * n);
      blockScores(qBlock, kHead, rows, n, e, keys, scale, p);
      for (int64_t r = 0; r < rows; r++) {
        float* x = p + r * n;
        // The forward's weights: exp(score - lse), or 1 / S where every key is masked (there lse
        // is lowest too, and exp(lowest - lowest) would weigh each key 1).
        if (keys.rows[r].anyAllowed) {
          const int64_t end = keys.rows[r].end;
          expShifted<false>(x, end, lse[bh * l + i0 + r]);
          std::fill(x + end, x + n, 0.0f);
        } else {
          std::fill(x, x + n, static_cast<float>(1.0 / static_cast<double>(s)));
        }
      }
      // dV[0:n] += P^T dO: P^T is P with its strides swapped.
      if (gv != nullptr)
        sgemm(n, ev, rows, MatrixView{p, 1, n}, MatrixView{gBlock, ev, 1}, OutputView{gv, ev, 1}, accumulate, false);
      if (!scoresGrad) continue;
      // dS = P (dO V^T - rowsum(dO out)) scale, in place of dP.
      float* ds = scratch(gradsScratch, rows * n);
      sgemm(rows, n, ev, MatrixView{gBlock, ev, 1}, MatrixView{vHead, 1, ev}, OutputView{ds, n, 1}, false, false);
      for (int64_t r = 0; r < rows; r++) {
        const float* g = gBlock + r * ev;
        const float* o = out + (bh * l + i0 + r) * ev;
        double delta = 0;
        for (int64_t c = 0; c < ev; c++) delta += static_cast<double>(g[c]) * o[c];
        // Past the row's end P is 0, and so is dS.
        const int64_t end = keys.rows[r].end;
        scoreGrad(p + r * n, ds + r * n, end, static_cast<float>(delta), scale);
        std::fill(ds + r * n + end, ds + (r + 1) * n, 0.0f);
      }
      if (gradQ != nullptr)
        sgemm(rows, e, n, MatrixView{ds, n, 1}, MatrixView{kHead, e, 1}, OutputView{gradQ + (bh * l + i0) * e, e, 1},
              false, false);
      if (gk != nullptr)
        sgemm(n, e, rows, MatrixView{ds, 1, n}, MatrixView{qBlock, e, 1}, OutputView{gk, e, 1}, accumulate, false);
    }
    zeroKeys(ready, s);
  });
}

}  // namespace kiln
