#!/usr/bin/python3
"""Side-by-side speed and memory of homeostat and the peer frameworks on W1-W3.

Runs, round after round, homeostat's `bench` and the peers' benchmark scripts
(bench/peers/: snnTorch, SpikingJelly single-step for W1 and W3) one process at a time,
interleaved so that the machine's drift hits every side alike, then prints the median
ms per training batch of 128, the peak RSS of each process, and homeostat's ratios to
the fastest and to the leanest peer.

The peers' sources are never part of this repository: put snnTorch and SpikingJelly's
package folders under --peers (PEERS/snntorch/snntorch, PEERS/spikingjelly/spikingjelly),
as bench/peers/README.md explains. A peer whose source is missing is skipped
with a note. Every side runs in the same environment: OPENBLAS_CORETYPE as this
environment has it (some machines set it because OpenBLAS computes wrong results or
crashes there without it), or as --coretype says for all, and the peers get tcmalloc,
their best case.

  /usr/bin/python3 bench/compare_peers.py --peers /tmp/peers --workloads w1 w2 --rounds 3

homeostat runs once per --precisions value (gemm_precision: fp32, and bf16 where the CPU has
AVX512-BF16), each a side of its own with its own ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run_measured(command, env, cwd=None):
    """Runs a command; returns (exit code, output, peak RSS in MB of that process tree's
    largest member as the kernel reports it for the child)."""
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        return process.returncode, log.read(), usage.ru_maxrss / 1024.0


def homeostat_side(args, workload, env, precision):
    if not os.access(args.homeostat, os.X_OK):
        return {"error": f"homeostat not found: {args.homeostat} (build it, or name it with "
                         "--homeostat)"}
    command = [args.homeostat, "bench", workload.upper(), "--json", "--batches",
               str(args.batches), "--warmup", "5", "--threads", str(args.threads),
               "--set", f"gemm_precision={precision}"]
    # bench measures each workload in a child process and reports that child's peak RSS.
    code, output, _ = run_measured(command, env, cwd=REPO)
    if code != 0:
        return {"error": output.strip()[-400:]}
    record = json.loads(output[output.index("["):])[0]
    if "error" in record:
        return {"error": record["error"]}
    return {"ms": record["median_ms"], "rss_mb": record["peak_rss_mb"]}


# Each peer's script and variant (bench/peers/README.md): snnTorch as its tutorials write it;
# SpikingJelly single-step for W1 and W3 (its fastest on CPU), and for W2 its default, which
# runs the recurrent layer step by step and the input and readout layers over all steps.
PEER_SCRIPTS = {
    "snntorch": ("bench_snntorch.py", {"w1": "default", "w2": "default", "w3": "default"}),
    "spikingjelly": ("bench_spikingjelly.py", {"w1": "single", "w2": "default", "w3": "single"}),
}


def peer_side(args, peer, workload, env):
    script, variants = PEER_SCRIPTS[peer]
    source = os.path.join(args.peers, peer)
    if not os.path.isfile(os.path.join(source, peer, "__init__.py")):
        return {"error": f"source not found: {os.path.join(source, peer)} "
                         f"(bench/peers/README.md says how to get it)"}
    script = os.path.join(args.peer_scripts, script)
    if not os.path.isfile(script):
        return {"error": f"benchmark script not found: {script}"}
    peer_env = dict(env)
    peer_env.pop("PYTHONPATH", None)
    if os.path.exists(TCMALLOC):
        peer_env["LD_PRELOAD"] = TCMALLOC
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = ["/usr/bin/python3", script, "--source", source, "--workload", workload,
                   "--variant", variants[workload], "--threads", str(args.threads),
                   "--max-batches", str(5 + args.batches), "--out", out.name]
        code, output, rss = run_measured(command, peer_env, cwd=args.peer_scripts)
        if code != 0:
            return {"error": output.strip()[-400:]}
        record = json.load(open(out.name))
    return {"ms": record["ms_per_batch_median"], "rss_mb": rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default="/tmp/peers",
                        help="folder holding snntorch/ and spikingjelly/ sources")
    parser.add_argument("--peer-scripts", default=os.path.join(HERE, "peers"),
                        help="folder of the peers' benchmark scripts (default: %(default)s)")
    parser.add_argument("--homeostat", default=os.path.join(REPO, "build", "homeostat"))
    parser.add_argument("--workloads", nargs="+", default=["w1", "w2", "w3"],
                        choices=["w1", "w2", "w3"])
    parser.add_argument("--peer-list", nargs="+", default=["snntorch", "spikingjelly"],
                        choices=["snntorch", "spikingjelly"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                        choices=["fp32", "bf16"],
                        help="homeostat's gemm_precision values, one side each (bf16 needs "
                             "AVX512-BF16)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--batches", type=int, default=20, help="measured batches per run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--coretype", default=None,
                        help="set OPENBLAS_CORETYPE to this for every side, or 'none' to unset it "
                             "for every side (default: as this environment has it)")
    parser.add_argument("--json", default=None, help="write all measurements here")
    args = parser.parse_args()

    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if args.coretype == "none":
        env.pop("OPENBLAS_CORETYPE", None)
    elif args.coretype:
        env["OPENBLAS_CORETYPE"] = args.coretype
    ours = {("homeostat" if p == "fp32" else f"homeostat-{p}"): p for p in args.precisions}
    sides = list(ours) + args.peer_list
    runs = {w: {s: [] for s in sides} for w in args.workloads}
    for round_index in range(args.rounds):
        for workload in args.workloads:
            # Alternate the order each round (ABBA) so drift does not favour one side.
            order = sides if round_index % 2 == 0 else list(reversed(sides))
            for side in order:
                result = (homeostat_side(args, workload, env, ours[side]) if side in ours
                          else peer_side(args, side, workload, env))
                runs[workload][side].append(result)
                shown = (f"{result['ms']:.1f} ms, {result['rss_mb']:.0f} MB" if "ms" in result
                         else result["error"].splitlines()[-1])
                print(f"round {round_index + 1} {workload} {side}: {shown}", flush=True)

    print()
    print(f"{'workload':8} {'side':14} {'ms/batch':>9} {'spread':>15} {'peak RSS':>9} "
          f"{'time ratio':>10} {'RSS ratio':>9}")
    summary = {}
    for workload in args.workloads:
        medians = {}
        for side in sides:
            ok = [r for r in runs[workload][side] if "ms" in r]
            if ok:
                medians[side] = (statistics.median(r["ms"] for r in ok),
                                 min(r["ms"] for r in ok), max(r["ms"] for r in ok),
                                 max(r["rss_mb"] for r in ok))
        peers = {s: m for s, m in medians.items() if s not in ours}
        fastest = min((m[0] for m in peers.values()), default=None)
        leanest = min((m[3] for m in peers.values()), default=None)
        for side in sides:
            if side not in medians:
                print(f"{workload:8} {side:14} {'(no result)':>9}")
                continue
            ms, low, high, rss = medians[side]
            time_ratio = f"{ms / fastest:.2f}" if side in ours and fastest else ""
            rss_ratio = f"{rss / leanest:.2f}" if side in ours and leanest else ""
            print(f"{workload:8} {side:14} {ms:9.1f} {low:7.1f}-{high:<7.1f} {rss:7.0f}MB "
                  f"{time_ratio:>10} {rss_ratio:>9}")
        summary[workload] = {s: {"median_ms": m[0], "min_ms": m[1], "max_ms": m[2],
                                 "peak_rss_mb": m[3]} for s, m in medians.items()}
    print("\ntime ratio: homeostat / fastest peer; RSS ratio: homeostat / leanest peer "
          "(issue targets: W1, W2 <= 0.5, W3 <= 0.33; RSS <= 0.25)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"runs": runs, "summary": summary}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
