#!/usr/bin/python3
"""Writes the safetensors reference fixtures used by packages/core/src/serialization/*.test.ts.

Run from anywhere with Debian's torch:  /usr/bin/python3 make_fixtures.py
Outputs (next to this script, committed):
  reference.safetensors     every Kiln dtype, 0-d and empty tensors, non-ASCII names, metadata;
                            laid out exactly as huggingface/safetensors' `serialize` does
                            (tensors sorted by descending dtype order, then by name; header is
                            compact JSON with __metadata__ first, padded with spaces to 8 bytes)
  roundtrip.safetensors     every Kiln dtype in the reference layout again, with values every backend
                            holds exactly (int64 within +-2**53): load + save must reproduce it
  name_ordered.safetensors  the layout older writers produced: tensors in name order, header not
                            padded, so most tensors sit at unaligned offsets (a valid file)
  unsupported_dtype.safetensors  a valid file holding an I16 tensor, which Kiln has no dtype for
  fixtures.json             for each file: metadata, and per tensor dtype code, shape, the raw
                            little-endian bytes (hex, from numpy) and the values
The python3-safetensors package does not exist in Debian, so the files are written here by hand
following the format specification; the tensors and their bytes come from torch and numpy.
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CODE = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}

# The reference `Dtype` enum in declaration order; `serialize` sorts by it, descending.
REFERENCE_DTYPE_ORDER = [
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
    "I32", "U32", "F32", "F64", "I64", "U64",
]


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)  # numpy has no bfloat16: take the bit patterns
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def json_value(x):
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    return x


def values_of(t):
    flat = t.reshape(-1)
    if t.dtype == torch.int64:
        return [str(v) for v in flat.tolist()]  # exact beyond 2**53
    if t.dtype in (torch.float16, torch.bfloat16):
        flat = flat.to(torch.float64)  # exact decode of the 16-bit values
    return [json_value(v) for v in flat.tolist()]


def write(path, tensors, metadata=None, layout="reference"):
    if layout == "reference":
        items = sorted(tensors.items(), key=lambda kv: kv[0])
        items.sort(key=lambda kv: REFERENCE_DTYPE_ORDER.index(CODE[kv[1].dtype]), reverse=True)
    else:
        items = sorted(tensors.items(), key=lambda kv: kv[0])
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(sorted(metadata.items()))
    data = b""
    for name, t in items:
        b = raw_bytes(t)
        header[name] = {"dtype": CODE[t.dtype], "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if layout == "reference":
        text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    return {
        "metadata": metadata,
        "order": [name for name, _ in items],
        "tensors": {
            name: {
                "dtype": CODE[t.dtype],
                "shape": list(t.shape),
                "hex": raw_bytes(t).hex(),
                "values": values_of(t),
            }
            for name, t in items
        },
    }


def main():
    torch.manual_seed(20240601)
    special = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-8, 65504.0, 1e30])
    reference = {
        "f64": torch.randn(2, 3, dtype=torch.float64),
        "f32": torch.randn(3, 4),
        "f32.special": special,
        "f16": torch.cat([torch.randn(5), special]).to(torch.float16),
        "bf16": torch.cat([torch.randn(5), special]).to(torch.bfloat16),
        "i64": torch.tensor([[0, -1, 2**53 + 1], [-(2**63), 2**63 - 1, 12345]], dtype=torch.int64),
        "i32": torch.randint(-(2**31), 2**31 - 1, (4,), dtype=torch.int32),
        "i8": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "u8": torch.tensor([[0, 1], [128, 255]], dtype=torch.uint8),
        "mask": torch.tensor([[True, False, True]]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "empty.i64": torch.zeros(2, 0, dtype=torch.int64),
        # Names sorted by code point, not UTF-16 unit: U+FF61 < U+1F600 although 0xFF61 > 0xD83D.
        "z\uff61": torch.tensor([1.0]),
        "z\U0001F600": torch.tensor([2.0]),
        "émbed.权重": torch.arange(6, dtype=torch.float32).reshape(2, 3),
    }
    roundtrip = {
        "layers.0.weight": torch.randn(4, 3),
        "layers.0.bias": torch.randn(4),
        "layers.10.weight": torch.randn(2, 4, dtype=torch.float64),
        "0": torch.tensor([1.5, -2.25]).to(torch.float16),
        "1": torch.tensor([[1.0, 3.0e38, -1e-3]]).to(torch.bfloat16),
        "ids": torch.tensor([[0, -7], [2**53, -(2**53)]], dtype=torch.int64),
        "pos": torch.arange(5, dtype=torch.int32),
        "q": torch.tensor([-3, 4], dtype=torch.int8),
        "pixels": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "mask": torch.tensor([False, True]),
        "step": torch.tensor(7, dtype=torch.int64),
        "none": torch.zeros(3, 0, 2),
    }
    name_ordered = {
        "a.u8": torch.tensor([1, 2, 3], dtype=torch.uint8),
        "b.f32": torch.randn(2, 2),
        "c.f64": torch.randn(3, dtype=torch.float64),
        "d.bf16": torch.randn(3).to(torch.bfloat16),
        "e.i64": torch.tensor([-5, 7], dtype=torch.int64),
        "f.f16": torch.randn(2).to(torch.float16),
        "g.i32": torch.tensor([[1, -2, 3]], dtype=torch.int32),
    }
    unsupported = {"ok": torch.ones(2), "counts": torch.tensor([1, -2, 3], dtype=torch.int16)}
    out = {
        "generator": "make_fixtures.py",
        "torch_version": torch.__version__,
        "files": {
            "reference.safetensors": write(
                "reference.safetensors", reference, {"format": "pt", "note": "kiln \"fixture\"\n\u00e9"}
            ),
            "roundtrip.safetensors": write("roundtrip.safetensors", roundtrip, {"format": "pt"}),
            "name_ordered.safetensors": write("name_ordered.safetensors", name_ordered, None, layout="name"),
            "unsupported_dtype.safetensors": write("unsupported_dtype.safetensors", unsupported),
        },
    }
    with open(os.path.join(HERE, "fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
