// The N-API surface of kiln_cpu.node. Operands arrive as the JS typed arrays themselves (no copy:
// the kernels read and write their memory in place) plus offsets, shapes and strides in elements.
// Core has already validated shapes and dtypes; this layer still checks every view against its
// array's length before any kernel runs, so no argument can make a kernel read or write outside
// the arrays it was given.
#include <napi.h>

#include <cmath>
#include <exception>
#include <initializer_list>
#include <string>

#include "attention.h"
#include "conv.h"
#include "elementwise.h"
#include "fusion.h"
#include "loss.h"
#include "normalization.h"
#include "optim.h"
#include "reduce.h"
#include "sgemm.h"
#include "thread_pool.h"

namespace {

using kiln::Layout;

struct ArgError {
  std::string message;
};

[[noreturn]] void fail(const std::string& message) { throw ArgError{message}; }

uint8_t* byteArray(const Napi::Value& v, const char* what, int64_t& length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    fail(std::string(what) + " must be a Uint8Array");
  auto arr = v.As<Napi::Uint8Array>();
  length = static_cast<int64_t>(arr.ElementLength());
  return arr.Data();
}

float* floatArray(const Napi::Value& v, const char* what, int64_t& length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail(std::string(what) + " must be a Float32Array");
  auto arr = v.As<Napi::Float32Array>();
  length = static_cast<int64_t>(arr.ElementLength());
  return arr.Data();
}

/** An integral number that fits the index arithmetic (|v| < 2^48). */
int64_t integer(double v, const char* what) {
  if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) >= 281474976710656.0)
    fail(std::string(what) + " must be an integer, got " + std::to_string(v));
  return static_cast<int64_t>(v);
}

int64_t integer(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) fail(std::string(what) + " must be a number");
  return integer(v.As<Napi::Number>().DoubleValue(), what);
}

/** Checks that every element of the view (offset, shape, strides) lies in [0, length). */
void checkView(int64_t length, int64_t offset, int rank, const int64_t* shape, const int64_t* strides,
               const char* what) {
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 0) fail(std::string(what) + ": negative size");
    if (shape[d] == 0) return;  // empty: touches nothing
  }
  // Each span is bounded first (in double, exactly enough for the comparison), so the int64 sums
  // below cannot wrap around into a small, passing value.
  int64_t lo = offset, hi = offset;
  for (int d = 0; d < rank; d++) {
    if (static_cast<double>(shape[d] - 1) * std::fabs(static_cast<double>(strides[d])) > 0x1p58)
      fail(std::string(what) + ": view spans more elements than any array holds");
    const int64_t span = (shape[d] - 1) * strides[d];
    if (span < 0) lo += span; else hi += span;
  }
  if (lo < 0 || hi >= length)
    fail(std::string(what) + ": view [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "] lies outside its array of " + std::to_string(length) + " elements");
}

/** Reads a coalesced layout from meta: [rank, shape..., strides of operand 0..., ..., offsets...]. */
template <int NOPS>
Layout<NOPS> readLayout(const Napi::Value& v, const int64_t* lengths, const char* const* names) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    fail("layout must be a Float64Array");
  auto meta = v.As<Napi::Float64Array>();
  const double* m = meta.Data();
  const size_t len = meta.ElementLength();
  if (len < 1) fail("layout is empty");
  const int64_t rank = integer(m[0], "rank");
  if (rank < 0 || rank > kiln::kMaxRank) fail("rank must be in [0, 8]");
  if (len < static_cast<size_t>(1 + rank * (NOPS + 1) + NOPS)) fail("layout is too short");
  Layout<NOPS> L;
  L.rank = static_cast<int>(rank);
  for (int d = 0; d < L.rank; d++) L.shape[d] = integer(m[1 + d], "size");
  for (int k = 0; k < NOPS; k++) {
    for (int d = 0; d < L.rank; d++) L.strides[k][d] = integer(m[1 + (k + 1) * rank + d], "stride");
    L.offsets[k] = integer(m[1 + (NOPS + 1) * rank + k], "offset");
    // A negative length: the caller checks this operand itself (a reduction's input spans runs).
    if (lengths[k] >= 0) checkView(lengths[k], L.offsets[k], L.rank, L.shape, L.strides[k], names[k]);
  }
  return L;
}

template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  Napi::Env env = info.Env();
  try {
    body();
  } catch (const ArgError& e) {
    Napi::RangeError::New(env, "kiln_cpu: " + e.message).ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("kiln_cpu: ") + e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// matmul(a, aOff, sab, sam, sak, b, bOff, sbb, sbk, sbn, out, oOff, sob, som, son, batch, m, k, n,
//        accumulate?): out = a b, or out += a b when `accumulate` is true
Napi::Value MatmulF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    if (info.Length() < 19) fail("matmulF32 takes 19 or 20 arguments");
    const bool accumulate = info.Length() > 19 && info[19].IsBoolean() && info[19].As<Napi::Boolean>().Value();
    int64_t la, lb, lo;
    const float* a = floatArray(info[0], "a", la);
    const float* b = floatArray(info[5], "b", lb);
    float* out = floatArray(info[10], "out", lo);
    int64_t v[19];
    for (int i : {1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18}) v[i] = integer(info[i], "matmul argument");
    const int64_t batch = v[15], m = v[16], k = v[17], n = v[18];
    const int64_t aShape[3] = {batch, m, k}, bShape[3] = {batch, k, n}, oShape[3] = {batch, m, n};
    const int64_t aStr[3] = {v[2], v[3], v[4]}, bStr[3] = {v[7], v[8], v[9]}, oStr[3] = {v[12], v[13], v[14]};
    checkView(la, v[1], 3, aShape, aStr, "matmul a");
    checkView(lb, v[6], 3, bShape, bStr, "matmul b");
    checkView(lo, v[11], 3, oShape, oStr, "matmul out");
    if (batch == 0 || m == 0 || n == 0) return;
    const int threads = kiln::poolThreads();
    // Many small products (attention heads): one product per thread; else thread each product.
    const bool perBatch = batch >= threads && threads > 1 && m * n * k < (int64_t{1} << 22);
    auto one = [&](int64_t bi, bool threaded) {
      kiln::sgemm(m, n, k, kiln::MatrixView{a + v[1] + bi * aStr[0], aStr[1], aStr[2]},
                  kiln::MatrixView{b + v[6] + bi * bStr[0], bStr[1], bStr[2]},
                  kiln::OutputView{out + v[11] + bi * oStr[0], oStr[1], oStr[2]}, accumulate, threaded);
    };
    if (perBatch) {
      kiln::parallelFor(batch, [&](int64_t bi, int) { one(bi, false); });
    } else {
      for (int64_t bi = 0; bi < batch; bi++) one(bi, true);
    }
  });
}

int opCode(const Napi::Value& v, int count) {
  const int64_t op = integer(v, "op");
  if (op < 0 || op >= count) fail("unknown op code " + std::to_string(op));
  return static_cast<int>(op);
}

// unaryF32(op, x, out, layout)
Napi::Value UnaryF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const int op = opCode(info[0], kiln::kUnaryOpCount);
    int64_t lengths[2];
    const float* x = floatArray(info[1], "x", lengths[0]);
    float* out = floatArray(info[2], "out", lengths[1]);
    static const char* const names[] = {"unary x", "unary out"};
    const auto L = readLayout<2>(info[3], lengths, names);
    kiln::unaryF32(op, x, out, L);
  });
}

// evalProgramF32(program: Int32Array of [kind, op, a, b] x count, inputs: Float32Array[],
//                offsets: Float64Array, scalar: Uint8Array, n, out: Float32Array | null) -> sum
Napi::Value EvalProgramF32(const Napi::CallbackInfo& info) {
  double sum = 0.0;
  Napi::Value status = guarded(info, [&] {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail("program must be an Int32Array");
    auto code = info[0].As<Napi::Int32Array>();
    const int64_t words = static_cast<int64_t>(code.ElementLength());
    if (words % 4 != 0 || words == 0 || words / 4 > kiln::kMaxProgram)
      fail("program must hold 1 to " + std::to_string(kiln::kMaxProgram) + " instructions of 4 words");
    const int count = static_cast<int>(words / 4);
    if (!info[1].IsArray()) fail("inputs must be an array");
    auto list = info[1].As<Napi::Array>();
    const uint32_t ninputs = list.Length();
    if (ninputs > static_cast<uint32_t>(kiln::kMaxProgram)) fail("too many program inputs");
    int64_t offsetsLength, scalarLength;
    const double* offsets = nullptr;
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      fail("offsets must be a Float64Array");
    offsets = info[2].As<Napi::Float64Array>().Data();
    offsetsLength = static_cast<int64_t>(info[2].As<Napi::Float64Array>().ElementLength());
    const uint8_t* scalarFlags = byteArray(info[3], "scalar", scalarLength);
    if (offsetsLength < ninputs || scalarLength < ninputs) fail("offsets and scalar need one entry per input");
    const int64_t n = integer(info[4], "n");
    if (n < 0) fail("n must not be negative");
    const float* inputs[kiln::kMaxProgram];
    bool scalar[kiln::kMaxProgram];
    for (uint32_t i = 0; i < ninputs; i++) {
      int64_t length;
      const float* data = floatArray(list.Get(i), "program input", length);
      const int64_t offset = integer(offsets[i], "input offset");
      scalar[i] = scalarFlags[i] != 0;
      const int64_t need = scalar[i] ? 1 : n;
      if (offset < 0 || (need > 0 && offset + need > length))
        fail("program input " + std::to_string(i) + " at offset " + std::to_string(offset) +
             " lies outside its array of " + std::to_string(length) + " elements");
      inputs[i] = data + offset;
    }
    kiln::Instr program[kiln::kMaxProgram];
    for (int i = 0; i < count; i++) {
      const int32_t* w = code.Data() + 4 * i;
      const int32_t kind = w[0];
      if (kind == 0) {
        if (w[1] < 0 || static_cast<uint32_t>(w[1]) >= ninputs) fail("load of a missing input");
      } else if (kind == 1 || kind == 2) {
        if (w[1] < 0 || w[1] >= (kind == 1 ? kiln::kUnaryOpCount : kiln::kBinaryOpCount))
          fail("unknown op code " + std::to_string(w[1]));
        if (w[2] < 0 || w[2] >= i || (kind == 2 && (w[3] < 0 || w[3] >= i)))
          fail("an instruction may only read earlier registers");
      } else {
        fail("unknown instruction kind " + std::to_string(kind));
      }
      program[i] = {static_cast<kiln::InstrKind>(kind), w[1], w[2], w[3]};
    }
    if (program[count - 1].kind == kiln::InstrKind::kLoad) fail("a program must end with an op, not a load");
    float* out = nullptr;
    if (!info[5].IsNull() && !info[5].IsUndefined()) {
      int64_t length;
      out = floatArray(info[5], "out", length);
      if (length < n) fail("out holds fewer than n elements");
    }
    sum = kiln::evalProgramF32(program, count, inputs, scalar, out, n);
  });
  if (info.Env().IsExceptionPending()) return status;
  return Napi::Number::New(info.Env(), sum);
}

// copyF32(src, dst, layout)
Napi::Value CopyF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t lengths[2];
    const float* src = floatArray(info[0], "src", lengths[0]);
    float* dst = floatArray(info[1], "dst", lengths[1]);
    static const char* const names[] = {"copy src", "copy dst"};
    const auto L = readLayout<2>(info[2], lengths, names);
    kiln::copyF32(src, dst, L);
  });
}

// binaryF32(op, a, b, out, layout)
Napi::Value BinaryF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const int op = opCode(info[0], kiln::kBinaryOpCount);
    int64_t lengths[3];
    const float* a = floatArray(info[1], "a", lengths[0]);
    const float* b = floatArray(info[2], "b", lengths[1]);
    float* out = floatArray(info[3], "out", lengths[2]);
    static const char* const names[] = {"binary a", "binary b", "binary out"};
    const auto L = readLayout<3>(info[4], lengths, names);
    kiln::binaryF32(op, a, b, out, L);
  });
}

// compareF32(op, a, b, out: Uint8Array, layout)
Napi::Value CompareF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const int op = opCode(info[0], kiln::kCompareOpCount);
    int64_t lengths[3];
    const float* a = floatArray(info[1], "a", lengths[0]);
    const float* b = floatArray(info[2], "b", lengths[1]);
    uint8_t* out = byteArray(info[3], "out", lengths[2]);
    static const char* const names[] = {"compare a", "compare b", "compare out"};
    const auto L = readLayout<3>(info[4], lengths, names);
    kiln::compareF32(op, a, b, out, L);
  });
}

// whereF32(cond: Uint8Array, a, b, out, layout)
Napi::Value WhereF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t lengths[4];
    const uint8_t* cond = byteArray(info[0], "cond", lengths[0]);
    const float* a = floatArray(info[1], "a", lengths[1]);
    const float* b = floatArray(info[2], "b", lengths[2]);
    float* out = floatArray(info[3], "out", lengths[3]);
    static const char* const names[] = {"where cond", "where a", "where b", "where out"};
    const auto L = readLayout<4>(info[4], lengths, names);
    kiln::whereF32(cond, a, b, out, L);
  });
}

/** A kept layout whose operand 0 (x) also spans a run of `runLength` elements `runStride` apart. */
void checkRuns(const Layout<2>& L, int64_t xLength, int64_t runLength, int64_t runStride, const char* what) {
  if (runLength < 0) fail(std::string(what) + ": negative run length");
  if (runLength == 0) return;
  int64_t shape[kiln::kMaxRank + 1], strides[kiln::kMaxRank + 1];
  for (int d = 0; d < L.rank; d++) {
    shape[d] = L.shape[d];
    strides[d] = L.strides[0][d];
  }
  shape[L.rank] = runLength;
  strides[L.rank] = runStride;
  checkView(xLength, L.offsets[0], L.rank + 1, shape, strides, what);
}

// reduceF32(op, x, out, keptLayout, runLength, runStride)
Napi::Value ReduceF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const int op = opCode(info[0], kiln::kReduceOpCount);
    int64_t lengths[2];
    const float* x = floatArray(info[1], "x", lengths[0]);
    float* out = floatArray(info[2], "out", lengths[1]);
    static const char* const names[] = {"reduce x", "reduce out"};
    const int64_t xLength = lengths[0];
    lengths[0] = -1;
    const auto L = readLayout<2>(info[3], lengths, names);
    lengths[0] = xLength;
    const int64_t runLength = integer(info[4], "run length");
    const int64_t runStride = integer(info[5], "run stride");
    checkRuns(L, lengths[0], runLength, runStride, "reduce x");
    kiln::reduceF32(op, x, out, L, runLength, runStride);
  });
}

// softmaxF32(mode, x, out, rowLayout, n): mode 0 softmax, 1 logSoftmax, 2 logsumexp
Napi::Value SoftmaxF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    const int mode = opCode(info[0], 3);
    int64_t lengths[2];
    const float* x = floatArray(info[1], "x", lengths[0]);
    float* out = floatArray(info[2], "out", lengths[1]);
    static const char* const names[] = {"softmax x", "softmax out"};
    const int64_t xLength = lengths[0];
    lengths[0] = -1;
    const auto L = readLayout<2>(info[3], lengths, names);
    lengths[0] = xLength;
    const int64_t n = integer(info[4], "row length");
    if (n < 1) fail("softmax rows must not be empty");
    checkRuns(L, lengths[0], n, 1, "softmax x");
    if (mode != 2) {
      Layout<2> o = L;
      o.offsets[0] = L.offsets[1];
      for (int d = 0; d < L.rank; d++) o.strides[0][d] = L.strides[1][d];
      checkRuns(o, lengths[1], n, 1, "softmax out");
    }
    kiln::softmaxF32(static_cast<kiln::SoftmaxMode>(mode), x, out, L, n);
  });
}

bool isAbsent(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

/** A Float32Array, or nullptr for null / undefined (an absent optional operand). */
float* optionalFloatArray(const Napi::Value& v, const char* what, int64_t& length) {
  length = 0;
  return isAbsent(v) ? nullptr : floatArray(v, what, length);
}

const double* metaArray(const Napi::Value& v, size_t count, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    fail(std::string(what) + " must be a Float64Array");
  auto meta = v.As<Napi::Float64Array>();
  if (meta.ElementLength() < count) fail(std::string(what) + " is too short");
  return meta.Data();
}

/** `count` contiguous elements from `offset` lie inside an array of `length`. */
void checkRun(int64_t length, int64_t offset, int64_t count, const char* what) {
  const int64_t shape[1] = {count}, strides[1] = {1};
  checkView(length, offset, 1, shape, strides, what);
}

// layerNormF32(x, weight | null, bias | null, out, mean, rstd, meta): meta = [rows, n, eps, offsets
// of x, weight, bias, out, mean, rstd]; x and out contiguous [rows, n].
Napi::Value LayerNormF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t len[6];
    const float* x = floatArray(info[0], "x", len[0]);
    const float* w = optionalFloatArray(info[1], "weight", len[1]);
    const float* b = optionalFloatArray(info[2], "bias", len[2]);
    float* out = floatArray(info[3], "out", len[3]);
    float* mean = floatArray(info[4], "mean", len[4]);
    float* rstd = floatArray(info[5], "rstd", len[5]);
    const double* m = metaArray(info[6], 9, "layerNorm meta");
    const int64_t rows = integer(m[0], "rows"), n = integer(m[1], "row length");
    const double eps = m[2];
    if (rows < 0 || n < 0) fail("layerNorm: negative size");
    if (rows > 0 && n > (int64_t{1} << 48) / rows) fail("layerNorm: too many elements");
    int64_t off[6];
    for (int i = 0; i < 6; i++) off[i] = integer(m[3 + i], "offset");
    const bool hasW = !isAbsent(info[1]), hasB = !isAbsent(info[2]);
    checkRun(len[0], off[0], rows * n, "layerNorm x");
    if (hasW) checkRun(len[1], off[1], n, "layerNorm weight");
    if (hasB) checkRun(len[2], off[2], n, "layerNorm bias");
    checkRun(len[3], off[3], rows * n, "layerNorm out");
    checkRun(len[4], off[4], rows, "layerNorm mean");
    checkRun(len[5], off[5], rows, "layerNorm rstd");
    if (rows == 0 || n == 0) return;
    kiln::layerNormF32(x + off[0], hasW ? w + off[1] : nullptr, hasB ? b + off[2] : nullptr, eps, out + off[3],
                       mean + off[4], rstd + off[5], rows, n);
  });
}

// layerNormBackwardF32(gradOut, x, weight | null, mean, rstd, gradIn | null, gradWeight | null,
// gradBias | null, meta): meta = [rows, n, the eight offsets in argument order].
Napi::Value LayerNormBackwardF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    static const char* const names[] = {"layerNormBackward gradOut", "layerNormBackward x",
                                        "layerNormBackward weight",  "layerNormBackward mean",
                                        "layerNormBackward rstd",    "layerNormBackward gradIn",
                                        "layerNormBackward gradWeight", "layerNormBackward gradBias"};
    int64_t len[8];
    float* a[8];
    bool present[8];
    for (int i = 0; i < 8; i++) {
      const bool optional = i == 2 || i >= 5;
      present[i] = !(optional && isAbsent(info[i]));
      a[i] = present[i] ? floatArray(info[i], names[i], len[i]) : nullptr;
    }
    const double* m = metaArray(info[8], 10, "layerNormBackward meta");
    const int64_t rows = integer(m[0], "rows"), n = integer(m[1], "row length");
    if (rows < 0 || n < 0) fail("layerNormBackward: negative size");
    if (rows > 0 && n > (int64_t{1} << 48) / rows) fail("layerNormBackward: too many elements");
    const int64_t counts[8] = {rows * n, rows * n, n, rows, rows, rows * n, n, n};
    for (int i = 0; i < 8; i++) {
      const int64_t off = integer(m[2 + i], "offset");
      if (!present[i]) continue;
      checkRun(len[i], off, counts[i], names[i]);
      // An empty operand (count 0) is never read; its pointer stays unused.
      a[i] = counts[i] == 0 ? nullptr : a[i] + off;
    }
    // No row length, or nothing asked for: nothing to read or write (a column sum over no rows
    // is handled by the kernel, which writes zeros).
    if (n == 0 || (a[5] == nullptr && a[6] == nullptr && a[7] == nullptr)) return;
    kiln::layerNormBackwardF32(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], rows, n);
  });
}

/** The product of `sizes` (each already non-negative), checked to fit the index arithmetic. */
int64_t elementCount(std::initializer_list<int64_t> sizes, const char* what) {
  double n = 1;
  for (int64_t v : sizes) n *= static_cast<double>(v);
  if (n >= 281474976710656.0) fail(std::string(what) + ": too many elements");
  return static_cast<int64_t>(n);
}

/** What the attention kernels share: dims, scale, causal and the mask (the operands come after). */
struct AttentionArgs {
  kiln::AttentionDims dims;
  kiln::AttentionMask mask;
  float scale;
  bool causal;
};

/**
 * meta = [B, H, L, S, E, Ev, scale, causal, mask offset, 4 mask strides, then the float operands'
 * offsets]; `maskValue` is a Uint8Array read through those strides as [B, H, L, S], or null.
 */
AttentionArgs readAttention(const double* m, const Napi::Value& maskValue, const char* what) {
  AttentionArgs a{};
  int64_t size[6];
  for (int i = 0; i < 6; i++) {
    size[i] = integer(m[i], "attention size");
    if (size[i] < 0) fail(std::string(what) + ": negative size");
  }
  a.dims = {size[0], size[1], size[2], size[3], size[4], size[5]};
  elementCount({size[0], size[1]}, what);  // the task count, even where an operand is empty
  if (!std::isfinite(m[6])) fail(std::string(what) + ": scale must be finite");
  a.scale = static_cast<float>(m[6]);
  a.causal = m[7] != 0;
  if (!isAbsent(maskValue)) {
    int64_t length;
    const uint8_t* data = byteArray(maskValue, "attention mask", length);
    const int64_t offset = integer(m[8], "mask offset");
    const int64_t shape[4] = {size[0], size[1], size[2], size[3]};
    for (int d = 0; d < 4; d++) a.mask.strides[d] = integer(m[9 + d], "mask stride");
    checkView(length, offset, 4, shape, a.mask.strides, (std::string(what) + " mask").c_str());
    a.mask.data = data + offset;
  }
  return a;
}

// attentionF32(q, k, v, mask | null, out, lse, meta): meta as readAttention's, then the offsets of
// q, k, v, out and lse; all five contiguous.
Napi::Value AttentionF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    static const char* const names[] = {"attention q", "attention k", "attention v", "attention out",
                                        "attention lse"};
    const double* m = metaArray(info[6], 18, "attention meta");
    const AttentionArgs a = readAttention(m, info[3], "attention");
    const auto& d = a.dims;
    const int64_t counts[5] = {elementCount({d.batch, d.heads, d.queries, d.headDim}, "attention"),
                               elementCount({d.batch, d.heads, d.keys, d.headDim}, "attention"),
                               elementCount({d.batch, d.heads, d.keys, d.valueDim}, "attention"),
                               elementCount({d.batch, d.heads, d.queries, d.valueDim}, "attention"),
                               elementCount({d.batch, d.heads, d.queries}, "attention")};
    float* p[5];
    for (int i = 0; i < 5; i++) {
      int64_t length;
      p[i] = floatArray(info[i < 3 ? i : i + 1], names[i], length);
      const int64_t off = integer(m[13 + i], "offset");
      checkRun(length, off, counts[i], names[i]);
      p[i] += off;
    }
    if (counts[4] == 0) return;
    if (d.keys == 0) fail("attention: a query needs at least one key");
    kiln::attentionF32(d, p[0], p[1], p[2], a.mask, a.scale, a.causal, p[3], p[4]);
  });
}

// attentionBackwardF32(gradOut, q, k, v, mask | null, out, lse, gradQ | null, gradK | null,
// gradV | null, meta): meta as readAttention's, then the offsets of the nine float operands in
// argument order; all contiguous.
Napi::Value AttentionBackwardF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    static const char* const names[] = {"attentionBackward gradOut", "attentionBackward q",
                                        "attentionBackward k",       "attentionBackward v",
                                        "attentionBackward out",     "attentionBackward lse",
                                        "attentionBackward gradQ",   "attentionBackward gradK",
                                        "attentionBackward gradV"};
    static const int argument[] = {0, 1, 2, 3, 5, 6, 7, 8, 9};
    const double* m = metaArray(info[10], 22, "attentionBackward meta");
    const AttentionArgs a = readAttention(m, info[4], "attentionBackward");
    const auto& d = a.dims;
    const int64_t q = elementCount({d.batch, d.heads, d.queries, d.headDim}, "attentionBackward");
    const int64_t k = elementCount({d.batch, d.heads, d.keys, d.headDim}, "attentionBackward");
    const int64_t v = elementCount({d.batch, d.heads, d.keys, d.valueDim}, "attentionBackward");
    const int64_t o = elementCount({d.batch, d.heads, d.queries, d.valueDim}, "attentionBackward");
    const int64_t rows = elementCount({d.batch, d.heads, d.queries}, "attentionBackward");
    const int64_t counts[9] = {o, q, k, v, o, rows, q, k, v};
    float* p[9];
    for (int i = 0; i < 9; i++) {
      int64_t length = 0;
      p[i] = i >= 6 ? optionalFloatArray(info[argument[i]], names[i], length)
                    : floatArray(info[argument[i]], names[i], length);
      const int64_t off = integer(m[13 + i], "offset");
      if (p[i] == nullptr) continue;
      checkRun(length, off, counts[i], names[i]);
      p[i] += off;
    }
    // No queries: gradK and gradV are zeros (the kernel writes them); no keys either: nothing.
    if (d.batch * d.heads == 0 || (d.queries == 0 && d.keys == 0)) return;
    if (d.keys == 0) fail("attentionBackward: a query needs at least one key");
    kiln::attentionBackwardF32(d, p[0], p[1], p[2], p[3], a.mask, a.scale, a.causal, p[4], p[5], p[6], p[7], p[8]);
  });
}

const int32_t* int32Array(const Napi::Value& v, const char* what, int64_t& length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail(std::string(what) + " must be an Int32Array");
  auto arr = v.As<Napi::Int32Array>();
  length = static_cast<int64_t>(arr.ElementLength());
  return arr.Data();
}

/** rows x classes, both non-negative and small enough for the index arithmetic. */
void checkRowsClasses(int64_t rows, int64_t classes, const char* what) {
  if (rows < 0 || classes < 0) fail(std::string(what) + ": negative size");
  if (rows > 0 && classes > (int64_t{1} << 48) / rows) fail(std::string(what) + ": too many elements");
}

// crossEntropyF32(logits, target: Int32Array, loss, lse, meta): meta = [rows, classes, ignoreIndex,
// labelSmoothing, offsets of logits, target, loss, lse]; logits contiguous [rows, classes].
Napi::Value CrossEntropyF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t len[4];
    const float* x = floatArray(info[0], "logits", len[0]);
    const int32_t* t = int32Array(info[1], "target", len[1]);
    float* loss = floatArray(info[2], "loss", len[2]);
    float* lse = floatArray(info[3], "lse", len[3]);
    const double* m = metaArray(info[4], 8, "crossEntropy meta");
    const int64_t rows = integer(m[0], "rows"), classes = integer(m[1], "classes");
    const int64_t ignoreIndex = integer(m[2], "ignoreIndex");
    checkRowsClasses(rows, classes, "crossEntropy");
    int64_t off[4];
    for (int i = 0; i < 4; i++) off[i] = integer(m[4 + i], "offset");
    checkRun(len[0], off[0], rows * classes, "crossEntropy logits");
    checkRun(len[1], off[1], rows, "crossEntropy target");
    checkRun(len[2], off[2], rows, "crossEntropy loss");
    checkRun(len[3], off[3], rows, "crossEntropy lse");
    if (rows == 0) return;
    if (classes == 0) fail("crossEntropy: no classes");
    // The kernel reads logits[i, target[i]]: every target must be a class or ignoreIndex.
    for (int64_t r = 0; r < rows; r++) {
      const int64_t c = t[off[1] + r];
      if (c != ignoreIndex && (c < 0 || c >= classes))
        fail("crossEntropy: target " + std::to_string(c) + " is out of bounds for " + std::to_string(classes) +
             " classes");
    }
    kiln::crossEntropyF32(x + off[0], t + off[1], ignoreIndex, m[3], loss + off[2], lse + off[3], rows, classes);
  });
}

// crossEntropyBackwardF32(gradLoss, logits, target: Int32Array, lse, gradLogits, meta): meta =
// [rows, classes, ignoreIndex, labelSmoothing, offsets of the five in argument order].
Napi::Value CrossEntropyBackwardF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t len[5];
    const float* g = floatArray(info[0], "gradLoss", len[0]);
    const float* x = floatArray(info[1], "logits", len[1]);
    const int32_t* t = int32Array(info[2], "target", len[2]);
    const float* lse = floatArray(info[3], "lse", len[3]);
    float* out = floatArray(info[4], "gradLogits", len[4]);
    const double* m = metaArray(info[5], 9, "crossEntropyBackward meta");
    const int64_t rows = integer(m[0], "rows"), classes = integer(m[1], "classes");
    const int64_t ignoreIndex = integer(m[2], "ignoreIndex");
    checkRowsClasses(rows, classes, "crossEntropyBackward");
    int64_t off[5];
    for (int i = 0; i < 5; i++) off[i] = integer(m[4 + i], "offset");
    checkRun(len[0], off[0], rows, "crossEntropyBackward gradLoss");
    checkRun(len[1], off[1], rows * classes, "crossEntropyBackward logits");
    checkRun(len[2], off[2], rows, "crossEntropyBackward target");
    checkRun(len[3], off[3], rows, "crossEntropyBackward lse");
    checkRun(len[4], off[4], rows * classes, "crossEntropyBackward gradLogits");
    if (rows == 0 || classes == 0) return;
    kiln::crossEntropyBackwardF32(g + off[0], x + off[1], t + off[2], lse + off[3], ignoreIndex, m[3], out + off[4],
                                  rows, classes);
  });
}

// adamStepF32(param, grad, expAvg, expAvgSq, meta): meta = [numel, offsets of the four, decay, l2,
// beta1, beta2, negStepSize, biasCorrection2Sqrt, eps] (kernels/optim.ts's adamConstants).
Napi::Value AdamStepF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    static const char* const names[] = {"adamStep param", "adamStep grad", "adamStep expAvg", "adamStep expAvgSq"};
    int64_t len[4];
    float* a[4];
    for (int i = 0; i < 4; i++) a[i] = floatArray(info[i], names[i], len[i]);
    const double* m = metaArray(info[4], 12, "adamStep meta");
    const int64_t n = integer(m[0], "numel");
    if (n < 0) fail("adamStep: negative size");
    for (int i = 0; i < 4; i++) {
      const int64_t off = integer(m[1 + i], "offset");
      checkRun(len[i], off, n, names[i]);
      a[i] += off;
    }
    if (n == 0) return;
    const kiln::AdamConstants c{m[5], m[6], m[7], m[8], m[9], m[10], m[11]};
    kiln::adamStepF32(a[0], a[1], a[2], a[3], n, c);
  });
}

/** meta: for each of the three operands offset, shape[4], strides[4]; then stride, padding,
 * dilation (h, w each) and groups. */
void readConv(const Napi::CallbackInfo& info, kiln::Tensor4 t[3], kiln::ConvParams& p) {
  static const char* const names[] = {"conv operand 0", "conv operand 1", "conv operand 2"};
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    fail("conv meta must be a Float64Array");
  auto meta = info[3].As<Napi::Float64Array>();
  if (meta.ElementLength() < 34) fail("conv meta is too short");
  const double* m = meta.Data();
  for (int i = 0; i < 3; i++) {
    int64_t length;
    float* data = floatArray(info[i], names[i], length);
    const int64_t offset = integer(m[i * 9], "offset");
    for (int d = 0; d < 4; d++) {
      t[i].shape[d] = integer(m[i * 9 + 1 + d], "size");
      t[i].strides[d] = integer(m[i * 9 + 5 + d], "stride");
    }
    checkView(length, offset, 4, t[i].shape, t[i].strides, names[i]);
    t[i].data = data + offset;
  }
  p.strideH = integer(m[27], "stride");
  p.strideW = integer(m[28], "stride");
  p.padH = integer(m[29], "padding");
  p.padW = integer(m[30], "padding");
  p.dilH = integer(m[31], "dilation");
  p.dilW = integer(m[32], "dilation");
  p.groups = integer(m[33], "groups");
  if (p.strideH < 1 || p.strideW < 1 || p.dilH < 1 || p.dilW < 1 || p.padH < 0 || p.padW < 0 || p.groups < 1)
    fail("conv: stride and dilation must be >= 1, padding >= 0, groups >= 1");
}

/** The shape relations the conv kernels rely on (core checks them first; this keeps the addon safe alone). */
void checkConv(const kiln::Tensor4& input, const kiln::Tensor4& weight, const kiln::Tensor4& output,
               const kiln::ConvParams& p) {
  const int64_t n = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3];
  const int64_t o = weight.shape[0], cg = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3];
  const int64_t oh = (h + 2 * p.padH - p.dilH * (kh - 1) - 1) / p.strideH + 1;
  const int64_t ow = (w + 2 * p.padW - p.dilW * (kw - 1) - 1) / p.strideW + 1;
  if (o % p.groups != 0 || cg * p.groups != c || output.shape[0] != n || output.shape[1] != o ||
      output.shape[2] != std::max<int64_t>(oh, 0) || output.shape[3] != std::max<int64_t>(ow, 0))
    fail("conv: operand shapes do not agree with the parameters");
}

Napi::Value Conv2dF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    kiln::Tensor4 t[3];
    kiln::ConvParams p;
    readConv(info, t, p);  // x, weight, out
    checkConv(t[0], t[1], t[2], p);
    kiln::conv2dF32(t[0], t[1], t[2], p);
  });
}

Napi::Value Conv2dBackwardInputF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    kiln::Tensor4 t[3];
    kiln::ConvParams p;
    readConv(info, t, p);  // gradOut, weight, gradIn
    checkConv(t[2], t[1], t[0], p);
    kiln::conv2dBackwardInputF32(t[0], t[1], t[2], p);
  });
}

Napi::Value Conv2dBackwardWeightF32(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    kiln::Tensor4 t[3];
    kiln::ConvParams p;
    readConv(info, t, p);  // x, gradOut, gradWeight
    checkConv(t[0], t[2], t[1], p);
    kiln::conv2dBackwardWeightF32(t[0], t[1], t[2], p);
  });
}

Napi::Array names(Napi::Env env, const char* const* list, int count) {
  Napi::Array arr = Napi::Array::New(env, count);
  for (int i = 0; i < count; i++) arr.Set(i, Napi::String::New(env, list[i]));
  return arr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("gemmKernel", Napi::String::New(env, kiln::sgemmKernelName()));
  info.Set("threads", Napi::Number::New(env, kiln::poolThreads()));
  info.Set("unaryOps", names(env, kiln::kUnaryOps, kiln::kUnaryOpCount));
  info.Set("binaryOps", names(env, kiln::kBinaryOps, kiln::kBinaryOpCount));
  info.Set("reduceOps", names(env, kiln::kReduceOps, kiln::kReduceOpCount));
  info.Set("compareOps", names(env, kiln::kCompareOps, kiln::kCompareOpCount));
  exports.Set("info", info);
  exports.Set("matmulF32", Napi::Function::New(env, MatmulF32, "matmulF32"));
  exports.Set("unaryF32", Napi::Function::New(env, UnaryF32, "unaryF32"));
  exports.Set("evalProgramF32", Napi::Function::New(env, EvalProgramF32, "evalProgramF32"));
  exports.Set("binaryF32", Napi::Function::New(env, BinaryF32, "binaryF32"));
  exports.Set("copyF32", Napi::Function::New(env, CopyF32, "copyF32"));
  exports.Set("compareF32", Napi::Function::New(env, CompareF32, "compareF32"));
  exports.Set("whereF32", Napi::Function::New(env, WhereF32, "whereF32"));
  exports.Set("reduceF32", Napi::Function::New(env, ReduceF32, "reduceF32"));
  exports.Set("softmaxF32", Napi::Function::New(env, SoftmaxF32, "softmaxF32"));
  exports.Set("layerNormF32", Napi::Function::New(env, LayerNormF32, "layerNormF32"));
  exports.Set("layerNormBackwardF32", Napi::Function::New(env, LayerNormBackwardF32, "layerNormBackwardF32"));
  exports.Set("attentionF32", Napi::Function::New(env, AttentionF32, "attentionF32"));
  exports.Set("attentionBackwardF32", Napi::Function::New(env, AttentionBackwardF32, "attentionBackwardF32"));
  exports.Set("crossEntropyF32", Napi::Function::New(env, CrossEntropyF32, "crossEntropyF32"));
  exports.Set("crossEntropyBackwardF32",
              Napi::Function::New(env, CrossEntropyBackwardF32, "crossEntropyBackwardF32"));
  exports.Set("adamStepF32", Napi::Function::New(env, AdamStepF32, "adamStepF32"));
  exports.Set("conv2dF32", Napi::Function::New(env, Conv2dF32, "conv2dF32"));
  exports.Set("conv2dBackwardInputF32", Napi::Function::New(env, Conv2dBackwardInputF32, "conv2dBackwardInputF32"));
  exports.Set("conv2dBackwardWeightF32",
              Napi::Function::New(env, Conv2dBackwardWeightF32, "conv2dBackwardWeightF32"));
  return exports;
}

}  // namespace

NODE_API_MODULE(kiln_cpu, Init)
