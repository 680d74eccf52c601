#include "conv.h"

#include <algorithm>
#include <vector>

#include "sgemm.h"
#include "thread_pool.h"

namespace kiln {
namespace {

struct Geometry {
  int64_t n, c, h, w, o, oh, ow, kh, kw, groups, cg, og, k, p;
};

Geometry geometry(const Tensor4& input, const Tensor4& weight, const Tensor4& output, int64_t groups) {
  Geometry g;
  g.n = input.shape[0];
  g.c = input.shape[1];
  g.h = input.shape[2];
  g.w = input.shape[3];
  g.o = weight.shape[0];
  g.cg = weight.shape[1];
  g.kh = weight.shape[2];
  g.kw = weight.shape[3];
  g.oh = output.shape[2];
  g.ow = output.shape[3];
  g.groups = groups;
  g.og = g.o / groups;
  g.k = g.cg * g.kh * g.kw;
  g.p = g.oh * g.ow;
  return g;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/** Output columns ox whose input column ox*stride + shift lies in [0, w): [lo, hi). */
inline void validColumns(int64_t shift, int64_t stride, int64_t w, int64_t outW, int64_t& lo, int64_t& hi) {
  lo = std::min(outW, std::max<int64_t>(0, ceilDiv(-shift, stride)));
  hi = std::max(lo, std::min(outW, ceilDiv(w - shift, stride)));
}

/** The weight as a contiguous [o][k] matrix. */
std::vector<float> contiguousWeight(const Tensor4& w) {
  std::vector<float> out(static_cast<size_t>(w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]));
  size_t q = 0;
  for (int64_t a = 0; a < w.shape[0]; a++)
    for (int64_t b = 0; b < w.shape[1]; b++)
      for (int64_t c = 0; c < w.shape[2]; c++)
        for (int64_t d = 0; d < w.shape[3]; d++)
          out[q++] = w.data[a * w.strides[0] + b * w.strides[1] + c * w.strides[2] + d * w.strides[3]];
  return out;
}

/** cols[k][p] (row-major, K x P) for image `img`, input channels [c0, c0 + cg). */
void im2col(const Tensor4& x, int64_t img, int64_t c0, const Geometry& g, const ConvParams& prm, float* cols) {
  const int64_t sn = x.strides[0], sc = x.strides[1], sh = x.strides[2], sw = x.strides[3];
  int64_t k = 0;
  for (int64_t c = 0; c < g.cg; c++) {
    const float* xc = x.data + img * sn + (c0 + c) * sc;
    for (int64_t ki = 0; ki < g.kh; ki++) {
      for (int64_t kj = 0; kj < g.kw; kj++, k++) {
        float* row = cols + k * g.p;
        const int64_t shiftW = kj * prm.dilW - prm.padW;
        int64_t lo, hi;
        validColumns(shiftW, prm.strideW, g.w, g.ow, lo, hi);
        for (int64_t y = 0; y < g.oh; y++, row += g.ow) {
          const int64_t ih = y * prm.strideH - prm.padH + ki * prm.dilH;
          if (ih < 0 || ih >= g.h) {
            std::fill(row, row + g.ow, 0.0f);
            continue;
          }
          const float* in = xc + ih * sh;
          std::fill(row, row + lo, 0.0f);
          if (prm.strideW == 1 && sw == 1) {
            std::copy(in + lo + shiftW, in + hi + shiftW, row + lo);
          } else {
            for (int64_t ox = lo; ox < hi; ox++) row[ox] = in[(ox * prm.strideW + shiftW) * sw];
          }
          std::fill(row + hi, row + g.ow, 0.0f);
        }
      }
    }
  }
}

/** Adds dcols[k][p] into gradIn's image `img`, channels [c0, c0 + cg): the adjoint of im2col. */
void col2im(const float* dcols, const Geometry& g, const ConvParams& prm, const Tensor4& gi, int64_t img, int64_t c0) {
  const int64_t sn = gi.strides[0], sc = gi.strides[1], sh = gi.strides[2], sw = gi.strides[3];
  int64_t k = 0;
  for (int64_t c = 0; c < g.cg; c++) {
    float* plane = gi.data + img * sn + (c0 + c) * sc;
    for (int64_t ki = 0; ki < g.kh; ki++) {
      for (int64_t kj = 0; kj < g.kw; kj++, k++) {
        const float* row = dcols + k * g.p;
        const int64_t shiftW = kj * prm.dilW - prm.padW;
        int64_t lo, hi;
        validColumns(shiftW, prm.strideW, g.w, g.ow, lo, hi);
        for (int64_t y = 0; y < g.oh; y++, row += g.ow) {
          const int64_t ih = y * prm.strideH - prm.padH + ki * prm.dilH;
          if (ih < 0 || ih >= g.h) continue;
          float* dst = plane + ih * sh;
          for (int64_t ox = lo; ox < hi; ox++) dst[(ox * prm.strideW + shiftW) * sw] += row[ox];
        }
      }
    }
  }
}

/** An image-group slice [og rows, P columns] of a [N, O, OH, OW] tensor as a matrix, when its
 * positions form one strided run; null otherwise. */
bool positionsAreOneRun(const Tensor4& t) { return t.shape[2] == 1 || t.strides[2] == t.shape[3] * t.strides[3]; }

thread_local std::vector<float> colsScratch, tmpScratch;

float* scratch(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

/** Runs fn(img, slot, threadedGemm) for every image: images over the pool, or GEMMs threaded. */
template <class F>
void forEachImage(int64_t n, F fn) {
  if (n >= poolThreads()) {
    parallelFor(n, [&](int64_t img, int slot) { fn(img, slot, false); });
  } else {
    for (int64_t img = 0; img < n; img++) fn(img, 0, true);
  }
}

}  // namespace

void conv2dF32(const Tensor4& x, const Tensor4& w, const Tensor4& out, const ConvParams& prm) {
  const Geometry g = geometry(x, w, out, prm.groups);
  const std::vector<float> wc = contiguousWeight(w);
  const bool direct = positionsAreOneRun(out);
  forEachImage(g.n, [&](int64_t img, int, bool threaded) {
    float* cols = scratch(colsScratch, g.k * g.p);
    for (int64_t gi = 0; gi < g.groups; gi++) {
      im2col(x, img, gi * g.cg, g, prm, cols);
      float* o = out.data + img * out.strides[0] + gi * g.og * out.strides[1];
      const MatrixView a{wc.data() + gi * g.og * g.k, g.k, 1};
      const MatrixView b{cols, g.p, 1};
      if (direct) {
        sgemm(g.og, g.p, g.k, a, b, OutputView{o, out.strides[1], out.strides[3]}, false, threaded);
        continue;
      }
      float* tmp = scratch(tmpScratch, g.og * g.p);
      sgemm(g.og, g.p, g.k, a, b, OutputView{tmp, g.p, 1}, false, threaded);
      for (int64_t oc = 0; oc < g.og; oc++)
        for (int64_t y = 0; y < g.oh; y++)
          for (int64_t ox = 0; ox < g.ow; ox++)
            o[oc * out.strides[1] + y * out.strides[2] + ox * out.strides[3]] = tmp[(oc * g.oh + y) * g.ow + ox];
    }
  });
}

void conv2dBackwardInputF32(const Tensor4& gradOut, const Tensor4& w, const Tensor4& gradIn, const ConvParams& prm) {
  const Geometry g = geometry(gradIn, w, gradOut, prm.groups);
  const std::vector<float> wc = contiguousWeight(w);
  const bool direct = positionsAreOneRun(gradOut);
  forEachImage(g.n, [&](int64_t img, int, bool threaded) {
    for (int64_t c = 0; c < g.c; c++)
      for (int64_t y = 0; y < g.h; y++)
        for (int64_t x = 0; x < g.w; x++)
          gradIn.data[img * gradIn.strides[0] + c * gradIn.strides[1] + y * gradIn.strides[2] + x * gradIn.strides[3]] =
              0.0f;
    float* dcols = scratch(colsScratch, g.k * g.p);
    for (int64_t gi = 0; gi < g.groups; gi++) {
      const float* go = gradOut.data + img * gradOut.strides[0] + gi * g.og * gradOut.strides[1];
      MatrixView b{go, gradOut.strides[1], gradOut.strides[3]};
      if (!direct) {
        float* tmp = scratch(tmpScratch, g.og * g.p);
        for (int64_t oc = 0; oc < g.og; oc++)
          for (int64_t y = 0; y < g.oh; y++)
            for (int64_t ox = 0; ox < g.ow; ox++)
              tmp[(oc * g.oh + y) * g.ow + ox] =
                  go[oc * gradOut.strides[1] + y * gradOut.strides[2] + ox * gradOut.strides[3]];
        b = MatrixView{tmp, g.p, 1};
      }
      // W_g^T: element (k, o) of the [k][og] matrix sits at wc[o * K + k].
      sgemm(g.k, g.p, g.og, MatrixView{wc.data() + gi * g.og * g.k, 1, g.k}, b, OutputView{dcols, g.p, 1}, false,
            threaded);
      col2im(dcols, g, prm, gradIn, img, gi * g.cg);
    }
  });
}

void conv2dBackwardWeightF32(const Tensor4& x, const Tensor4& gradOut, const Tensor4& gradW, const ConvParams& prm) {
  const Geometry g = geometry(x, gradW, gradOut, prm.groups);
  const bool direct = positionsAreOneRun(gradOut);
  const int slots = g.n >= poolThreads() ? poolThreads() : 1;
  // One [o][k] accumulator per thread slot, summed at the end.
  std::vector<float> acc(static_cast<size_t>(slots * g.o * g.k), 0.0f);
  forEachImage(g.n, [&](int64_t img, int slot, bool threaded) {
    float* cols = scratch(colsScratch, g.k * g.p);
    float* accSlot = acc.data() + slot * g.o * g.k;
    for (int64_t gi = 0; gi < g.groups; gi++) {
      im2col(x, img, gi * g.cg, g, prm, cols);
      const float* go = gradOut.data + img * gradOut.strides[0] + gi * g.og * gradOut.strides[1];
      MatrixView a{go, gradOut.strides[1], gradOut.strides[3]};
      if (!direct) {
        float* tmp = scratch(tmpScratch, g.og * g.p);
        for (int64_t oc = 0; oc < g.og; oc++)
          for (int64_t y = 0; y < g.oh; y++)
            for (int64_t ox = 0; ox < g.ow; ox++)
              tmp[(oc * g.oh + y) * g.ow + ox] =
                  go[oc * gradOut.strides[1] + y * gradOut.strides[2] + ox * gradOut.strides[3]];
        a = MatrixView{tmp, g.p, 1};
      }
      // cols^T: element (p, k) of the [p][k] matrix sits at cols[k * P + p].
      sgemm(g.og, g.k, g.p, a, MatrixView{cols, 1, g.p}, OutputView{accSlot + gi * g.og * g.k, g.k, 1}, true,
            threaded);
    }
  });
  for (int64_t o = 0; o < g.o; o++) {
    int64_t k = 0;
    for (int64_t c = 0; c < g.cg; c++)
      for (int64_t ki = 0; ki < g.kh; ki++)
        for (int64_t kj = 0; kj < g.kw; kj++, k++) {
          float s = 0.0f;
          for (int sl = 0; sl < slots; sl++) s += acc[(sl * g.o + o) * g.k + k];
          gradW.data[o * gradW.strides[0] + c * gradW.strides[1] + ki * gradW.strides[2] + kj * gradW.strides[3]] = s;
        }
  }
}

}  // namespace kiln
