#!/usr/bin/env python3
"""PyTorch peer for the Kiln benchmark harness (bench/src/peers/torch.mjs runs it).

Speaks JSON lines on stdin/stdout, so the Node harness can time each case on Kiln and then here,
back to back, under the same machine load:
  in  (first line)  {"policy": {warmups, minReps, maxReps, targetSeconds, maxCaseSeconds}, "threads": 2}
  out (first line)  {"torch": version, "python": version, "threads": n, "blas": {"name", "path"}}
  in  (each case)   {"workload": "W1", "label": "N=256", "params": {"n": 256}, "policy": {...}}
                    ("policy", optional: the case's own, e.g. fewer repetitions for W6; default the first line's)
  out (each case)   {"workload", "label", "medianMs", "minMs", "warmups", "reps", "samplesMs",
                     "timeBoxed"} or {"workload", "label", "error"}
"blas" is the BLAS shared object this process actually mapped: the proof of what the matmul
figures measure. The timing policy is bench/src/harness.mjs's, re-implemented line for line so
that both columns of a table come from the same method.

Each workload is a module in torch_workloads/ with `setup(params) -> (step, dispose)`; `step()`
returns a small tensor whose .item() ends the repetition, like `await t.data()` does in Node.
"""
import importlib
import json
import os
import statistics
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


def measure(run_once, policy):
    case_start = time.perf_counter()
    budget = policy["maxCaseSeconds"]

    def time_once():
        t0 = time.perf_counter()
        run_once()
        return time.perf_counter() - t0

    time_boxed = False
    last = 0.0
    warmups = 0
    while warmups < policy["warmups"]:
        last = time_once()
        warmups += 1
        if warmups < policy["warmups"] and last * (1 + policy["minReps"]) > budget - (time.perf_counter() - case_start):
            time_boxed = True
            break

    left = budget - (time.perf_counter() - case_start)
    want = policy["minReps"]
    if last * policy["minReps"] > left:
        want = max(1, int(left // max(last, 1e-9)))
        time_boxed = True

    samples = []
    timed = 0.0
    while len(samples) < policy["maxReps"]:
        s = time_once()
        samples.append(s)
        timed += s
        if len(samples) < want:
            continue
        if time_boxed or timed >= policy["targetSeconds"]:
            break
        if time.perf_counter() - case_start + s > budget:
            break

    ms = [s * 1e3 for s in samples]
    return {
        "medianMs": statistics.median(ms),
        "minMs": min(ms),
        "warmups": warmups,
        "reps": len(ms),
        "samplesMs": ms,
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


def run_case(case, policy):
    entry = {"workload": case["workload"], "label": case["label"]}
    module = WORKLOADS.get(case["workload"])
    if module is None:
        entry["error"] = f"{case['workload']} is not implemented in peers/torch_workloads"
        return entry
    try:
        workload = importlib.import_module(module)
        step, dispose = workload.setup(case["params"])
        # Training workloads (TRAINING = True) need autograd; the others run in inference mode.
        with torch.enable_grad() if getattr(workload, "TRAINING", False) else torch.inference_mode():
            entry.update(measure(lambda: step().item(), case.get("policy") or policy))
        dispose()
    except Exception as e:  # reported in the table; the next case still runs
        entry["error"] = f"{type(e).__name__}: {e}"
    return entry


def main():
    config = json.loads(sys.stdin.readline())
    torch.set_num_threads(config["threads"])
    send({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
    })
    for line in sys.stdin:
        if line.strip():
            send(run_case(json.loads(line), config["policy"]))


if __name__ == "__main__":
    main()
