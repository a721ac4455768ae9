#!/usr/bin/python3
"""SGEMM speed of W1's shapes through torch, and which BLAS and OpenBLAS kernels run them.

The peers' W1 time is mostly three GEMMs per time step (forward x W^T, weight gradient g^T x,
input gradient g W; B=128, 784 -> 1000), or one of each over all T*B = 3200 rows when the input
layer is batched over time. This prints the median time and GFLOP/s of each, and the BLAS
library and OpenBLAS core torch loaded, so that a slow peer can be told apart from a BLAS that
fell back to old kernels (see OPENBLAS_CORETYPE in README.md).

  env -u OPENBLAS_CORETYPE /usr/bin/python3 bench/peers/gemm_check.py          # as detected
  OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peers/gemm_check.py         # AVX2 kernels
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BATCH, INPUTS, HIDDEN, STEPS = common.BATCH, 784, 1000, common.WORKLOADS["w1"].steps


def shapes():
    """(name, m, k, n, function) of W1's first layer; each multiplies m x k by k x n."""
    x = torch.rand(BATCH, INPUTS)
    w = torch.randn(HIDDEN, INPUTS)
    g = torch.randn(BATCH, HIDDEN)
    x_all = torch.rand(STEPS * BATCH, INPUTS)
    g_all = torch.randn(STEPS * BATCH, HIDDEN)
    return [
        ("forward  x W^T   (one step)", BATCH, INPUTS, HIDDEN, lambda: x @ w.t()),
        ("weights  g^T x   (one step)", HIDDEN, BATCH, INPUTS, lambda: g.t() @ x),
        ("inputs   g W     (one step)", BATCH, HIDDEN, INPUTS, lambda: g @ w),
        ("forward  x W^T   (all T)", STEPS * BATCH, INPUTS, HIDDEN, lambda: x_all @ w.t()),
        ("weights  g^T x   (all T)", HIDDEN, STEPS * BATCH, INPUTS, lambda: g_all.t() @ x_all),
    ]


def median_seconds(function, warmup, repeats):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=100,
                        help="timed calls per shape (median taken); the one-step shapes get "
                             "this many, the all-T shapes a tenth")
    parser.add_argument("--out", default=None, metavar="FILE.json", help="write the results here")
    args = parser.parse_args()
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    results = []
    cases = shapes()              # allocates, so torch has loaded its BLAS before the probe
    facts = common.machine_facts()
    print(f"cpu: {facts['cpu_model']} ({', '.join(facts['cpu_flags'])}), "
          f"{args.threads} threads")
    print(f"blas: {', '.join(facts['blas_libraries']) or 'none mapped (torch built-in?)'}")
    print(f"openblas core: {facts['openblas_core']}, "
          f"OPENBLAS_CORETYPE={facts['OPENBLAS_CORETYPE']}")
    for name, m, k, n, function in cases:
        repeats = max(1, args.repeats // 10) if "all T" in name else args.repeats
        seconds = median_seconds(function, max(2, repeats // 10), repeats)
        gflops = 2.0 * m * k * n / seconds / 1e9
        results.append({"what": name.split("(")[0].strip(), "m": m, "k": k, "n": n,
                        "ms": seconds * 1e3, "gflops": gflops})
        print(f"{name:30} {m:5d}x{k:<5d}x{n:5d} {seconds * 1e3:9.3f} ms {gflops:8.1f} GFLOP/s")
    if args.out:
        with open(args.out, "w") as out:
            json.dump({"machine": facts, "threads": args.threads, "results": results}, out,
                      indent=1)
            out.write("\n")


if __name__ == "__main__":
    main()
