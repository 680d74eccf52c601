// float32 conv2d forward and backward as im2col + the native SGEMM, per image and group (the same
// decomposition as kernels/conv.ts):
//   forward          out[o, p]   = W[o, k] cols[k, p]
//   backward input   dcols[k, p] = W[o, k]^T gOut[o, p], then col2im adds dcols into gIn
//   backward weight  gW[o, k]   += gOut[o, p] cols[k, p]^T, summed over the batch
// with k = (c, ki, kj) over one group's input channels and window, p = (oh, ow) over output
// positions. Images are spread over the pool when there are enough of them; otherwise each
// image's GEMM is threaded.
#pragma once
#include <cstdint>

namespace kiln {

/** A 4-d float32 operand: data points at element 0 of the view, strides in elements. */
struct Tensor4 {
  float* data;
  int64_t shape[4];
  int64_t strides[4];
};

struct ConvParams {
  int64_t strideH, strideW, padH, padW, dilH, dilW, groups;
};

void conv2dF32(const Tensor4& x, const Tensor4& w, const Tensor4& out, const ConvParams& p);
void conv2dBackwardInputF32(const Tensor4& gradOut, const Tensor4& w, const Tensor4& gradIn, const ConvParams& p);
void conv2dBackwardWeightF32(const Tensor4& x, const Tensor4& gradOut, const Tensor4& gradW, const ConvParams& p);

}  // namespace kiln
