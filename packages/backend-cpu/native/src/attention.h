// Fused scaled-dot-product attention, forward and backward, for contiguous float32 q [B, H, L, E],
// k [B, H, S, E], v [B, H, S, Ev]. Query rows go in blocks, so no [L, S] matrix is ever held: per
// block the scores and weights are a rows x S scratch, and the products are the packed SGEMM's.
// See @kiln/core's FusedKernels.attention / attentionBackward for the contracts.
#pragma once
#include <cstdint>

namespace kiln {

struct AttentionDims {
  int64_t batch, heads, queries, keys, headDim, valueDim;  // B, H, L, S, E, Ev
};

/** A bool mask broadcast to [B, H, L, S] through its element strides (0 on broadcast dims); data null: none. */
struct AttentionMask {
  const uint8_t* data;
  int64_t strides[4];
};

/**
 * out = softmax(q k^T * scale, masked) v and lse = log-sum-exp of each query's masked scaled scores.
 * A key is masked where the mask is false or, with `causal`, where its index exceeds the query's + S - L;
 * masked scores are float's most negative finite value. Needs S >= 1.
 */
void attentionF32(const AttentionDims& d, const float* q, const float* k, const float* v, const AttentionMask& mask,
                  float scale, bool causal, float* out, float* lse);

/**
 * gradQ, gradK, gradV (each may be null) from gradOut and the forward's out and lse, the weights
 * recomputed as P = exp(scores - lse): dV = P^T dO, dS = P (dO V^T - rowsum(dO out)) scale,
 * dQ = dS K, dK = dS^T Q. Needs S >= 1.
 */
void attentionBackwardF32(const AttentionDims& d, const float* gradOut, const float* q, const float* k, const float* v,
                          const AttentionMask& mask, float scale, bool causal, const float* out, const float* lse,
                          float* gradQ, float* gradK, float* gradV);

}  // namespace kiln
