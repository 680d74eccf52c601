#!/usr/bin/env python3
"""PyTorch peer for the Kiln benchmark harness (bench/src/peers/torch.mjs runs it).

Speaks JSON lines on stdin/stdout, one reply per request, so the Node harness can alternate blocks
of repetitions of a case between Kiln and here (src/harness.mjs, measureInterleaved):
  in  (first line)  {"threads": 2}
  out (first line)  {"torch": version, "python": version, "threads": n, "blas": {"name", "path"}}
  in   {"cmd": "setup", "workload": "W1", "label": "N=256", "params": {"n": 256}}   out {} or {"error"}
  in   {"cmd": "warmup", "policy": {warmups, warmupSeconds, minReps, maxCaseSeconds, ...}}
       out {"warmups", "lastMs", "elapsedMs", "timeBoxed"} or {"error"}
  in   {"cmd": "time", "reps": n}   out {"samplesMs": [...]} or {"error"}
  in   {"cmd": "dispose"}           out {}
"blas" is the BLAS shared object this process actually mapped: the proof of what the matmul
figures measure. The warm-up loop is src/harness.mjs's warmUp, line for line; everything else
about the timing policy is decided on the Node side.

Each workload is a module in torch_workloads/ with `setup(params) -> (step, dispose)`; `step()`
returns a small tensor whose .item() ends the repetition, like `await t.data()` does in Node.
"""
import importlib
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Workload id -> module in torch_workloads/. Add a line here when adding a workload.
WORKLOADS = {
    "W1": "torch_workloads.w1_matmul",
    "W2": "torch_workloads.w2_elementwise",
    "W3": "torch_workloads.w3_mlp",
    "W4": "torch_workloads.w4_conv",
    "W5": "torch_workloads.w5_gpt_train",
    "W6": "torch_workloads.w6_gpt_decode",
    "W8": "torch_workloads.w8_seq2seq",
}


def warm_up(time_once, policy):
    start = time.perf_counter()
    budget = policy["maxCaseSeconds"]
    last = 0.0
    warmups = 0
    warm = 0.0
    time_boxed = False
    while warmups < policy["warmups"] or warm < policy["warmupSeconds"]:
        last = time_once()
        warm += last
        warmups += 1
        # A short count of warm-ups makes the case time-boxed, a short warm-up time does not.
        if last * (1 + policy["minReps"]) > budget - (time.perf_counter() - start):
            time_boxed = warmups < policy["warmups"]
            break
    return {
        "warmups": warmups,
        "lastMs": last * 1e3,
        "elapsedMs": (time.perf_counter() - start) * 1e3,
        "timeBoxed": time_boxed,
    }


def loaded_blas():
    """The BLAS shared object this process mapped: proof of what the matmul figures measure."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    for lib in sorted(libs):
        if "openblas" in lib:
            return {"name": "openblas", "path": lib}
    return {"name": "reference" if libs else "unknown", "path": ", ".join(sorted(libs))}


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Case:
    """The case being timed: its step, run under autograd only for training workloads."""

    def __init__(self, request):
        module = WORKLOADS.get(request["workload"])
        if module is None:
            raise KeyError(f"{request['workload']} is not implemented in peers/torch_workloads")
        workload = importlib.import_module(module)
        self.step, self.dispose = workload.setup(request["params"])
        # Training workloads (TRAINING = True) need autograd; the others run in inference mode.
        self.mode = torch.enable_grad if getattr(workload, "TRAINING", False) else torch.inference_mode

    def time_once(self):
        with self.mode():
            t0 = time.perf_counter()
            self.step().item()
            return time.perf_counter() - t0


def handle(request, case):
    """The reply to one request, and the case open after it."""
    cmd = request.get("cmd")
    if cmd == "setup":
        return {}, Case(request)
    if cmd == "dispose":
        if case is not None:
            case.dispose()
        return {}, None
    if case is None:
        raise RuntimeError(f"'{cmd}' before a case was set up")
    if cmd == "warmup":
        return warm_up(case.time_once, request["policy"]), case
    if cmd == "time":
        return {"samplesMs": [case.time_once() * 1e3 for _ in range(request["reps"])]}, case
    raise ValueError(f"unknown request {cmd!r}")


def main():
    config = json.loads(sys.stdin.readline())
    torch.set_num_threads(config["threads"])
    send({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
    })
    case = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply, case = handle(json.loads(line), case)
        except Exception as e:  # reported in the table; the next case still runs
            reply = {"error": f"{type(e).__name__}: {e}"}
        send(reply)


if __name__ == "__main__":
    main()
