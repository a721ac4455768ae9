#!/usr/bin/env python3
"""Data-parallel training against threads on one machine: ms per training batch of a workload
for one process with T threads (train.shards = 1 and = S) and for `mpirun -np N` with T/N threads
per rank (train.shards = S), measured interleaved (round-robin, several rounds) so that a drifting
machine affects every side alike. Prints the median per side and the ratio to one process.

  python3 bench/mpi_ranks.py [--config experiments/w1.toml] [--ranks 2] [--shards 2]
                             [--threads 2] [--batches 50] [--rounds 5] [--binary build/homeostat]

The ms per batch is the epoch's training time in metrics.jsonl (evaluation excluded) divided by
the batches. Needs a build with MPI and Fashion-MNIST (scripts/setup.sh).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MPI_ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "experiments" / "w1.toml"))
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads of the one process")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", default=str(ROOT / "build" / "homeostat"))
    parser.add_argument("--mpiexec", default="mpirun")
    args = parser.parse_args()
    if args.shards % args.ranks or args.threads % args.ranks:
        parser.error("--ranks must divide --shards and --threads")

    per_rank = args.threads // args.ranks
    sides = {
        f"1 process x {args.threads} threads, shards 1": ([], 1, args.threads),
        f"1 process x {args.threads} threads, shards {args.shards}": ([], args.shards,
                                                                     args.threads),
        f"{args.ranks} ranks x {per_rank} threads, shards {args.shards}": (
            [args.mpiexec, "-np", str(args.ranks), "--bind-to", "none"], args.shards, per_rank),
    }
    times = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as output:
        for round_index in range(args.rounds):
            for k, (name, (launcher, shards, threads)) in enumerate(sides.items()):
                run_name = f"r{round_index}_{k}"
                command = launcher + [
                    args.binary, "train", args.config, "--no-progress", "--threads", str(threads),
                    "--set", f'output.directory="{output}"', "--set", f'name="{run_name}"',
                    "--set", f"data.train_limit={args.batches * args.batch_size}",
                    "--set", "data.test_limit=256", "--set", "train.epochs=1",
                    "--set", f"train.batch_size={args.batch_size}",
                    "--set", f"train.shards={shards}", "--set", "diagnostics.report=false"]
                subprocess.run(command, env=MPI_ENV, check=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL)
                lines = (Path(output) / run_name / "metrics.jsonl").read_text().splitlines()
                epoch = [json.loads(l) for l in lines if json.loads(l).get("kind") == "epoch"][-1]
                times[name].append(1e3 * epoch["seconds"] / args.batches)
    print(f"{Path(args.config).name}, {args.batches} batches of {args.batch_size}, "
          f"{args.rounds} interleaved rounds, {cpu_name()}, {os.cpu_count()} CPUs")
    reference = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<40} {median:8.2f} ms/batch  (ratio {median / reference:.2f}; rounds "
              + " ".join(f"{v:.1f}" for v in values) + ")")


if __name__ == "__main__":
    main()
