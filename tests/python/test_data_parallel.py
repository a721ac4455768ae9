"""Data-parallel training over MPI ranks (`mpirun -np N homeostat train`, train.shards): the
`homeostat` binary (HOMEOSTAT_BINARY) under `mpirun` (HOMEOSTAT_MPIEXEC; ctest sets both when the
build has MPI).

- W1, W2 and the regulator-heavy W1 (2 epochs on a Fashion-MNIST subset, train.shards = 4):
  identical metrics.jsonl (wall times aside) for one process with 1 or 2 threads and for
  -np 1, 2 and 4 (--oversubscribe) with 1 or 2 threads per rank;
- a rank killed mid-epoch stops the whole job within 10 s, with mpirun naming the rank; the last
  checkpoint then resumes with another rank count to the metrics of an uninterrupted run;
- a rank count that does not divide train.shards, and a command other than train or sweep on
  several ranks, are usage errors (exit 2) before anything is written;
- `mpirun -np 2 homeostat sweep` deals the runs out over the ranks and ends with the results and
  summary of the same sweep in one process.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

BINARY = os.environ.get("HOMEOSTAT_BINARY")
MPIEXEC = os.environ.get("HOMEOSTAT_MPIEXEC")
pytestmark = pytest.mark.skipif(
    not BINARY or not MPIEXEC, reason="HOMEOSTAT_BINARY / HOMEOSTAT_MPIEXEC not set (ctest sets "
    "them in a build with MPI)")

SOURCE = Path(__file__).resolve().parents[2]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
TIMING_KEYS = {"seconds"}
# OpenMPI refuses to run as root unless told; harmless otherwise. Containers often forbid the
# cross-process memory copies (CMA) of OpenMPI's shared-memory transport: copy through the
# shared segment instead, which works everywhere.
MPI_ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}


def overrides(output, name, train_limit=256, batch_size=32, epochs=2, checkpoint_every=0):
    return ["--set", f'output.directory="{output}"', "--set", f'name="{name}"',
            "--set", f"data.train_limit={train_limit}", "--set", "data.test_limit=128",
            "--set", f"train.batch_size={batch_size}", "--set", f"train.epochs={epochs}",
            "--set", "train.shards=4", "--set", "diagnostics.batch_metrics_every=1",
            "--set", "diagnostics.report=false",
            "--set", f"output.checkpoint_every={checkpoint_every}", "--no-progress"]


def train_command(config, output, name, ranks, threads, **kwargs):
    command = [BINARY, "train", str(SOURCE / "experiments" / config),
               *overrides(output, name, **kwargs), "--threads", str(threads)]
    if ranks == 0:  # no launcher at all
        return command
    # Bound to a core each where they fit (one CPU in each rank's affinity mask), unbound beyond:
    # the results must not depend on either.
    binding = "core" if ranks <= (os.cpu_count() or 1) else "none"
    return [MPIEXEC, "-np", str(ranks), "--oversubscribe", "--bind-to", binding, *command]


def metrics(run_directory):
    lines = []
    for line in (run_directory / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key in TIMING_KEYS:
            record.pop(key, None)
        lines.append(record)
    return lines


def run(command, **kwargs):
    return subprocess.run(command, env=MPI_ENV, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def needs_fashion_mnist():
    if not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists() and not (
            FASHION_MNIST / "train-images-idx3-ubyte").exists():
        pytest.skip("Fashion-MNIST is not installed (scripts/setup.sh installs it)")


@pytest.mark.parametrize("config", ["w1.toml", "w2.toml", "w1_regulated.toml"])
def test_metrics_do_not_depend_on_ranks_or_threads(tmp_path, config):
    layouts = [(0, 1), (0, 2), (1, 2), (2, 1), (2, 2), (4, 1)]  # (ranks, threads per rank)
    results = {}
    for ranks, threads in layouts:
        name = f"np{ranks}_t{threads}"
        finished = run(train_command(config, tmp_path, name, ranks, threads))
        assert finished.returncode == 0, finished.stderr
        results[(ranks, threads)] = metrics(tmp_path / name)
        if ranks > 1:  # only rank 0 prints
            assert finished.stdout.count("test accuracy:") == 1, finished.stdout
    reference = results[(0, 1)]
    assert len(reference) == 2 * 8 + 2  # 8 batch lines and one epoch line per epoch
    for layout, lines in results.items():
        assert lines == reference, f"{config}: {layout} differs from one process, one thread"


def rank_processes(launcher):
    """{rank: pid} of the processes mpirun started (its children, by their environment)."""
    ranks = {}
    for child in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split():
        try:
            environment = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environment:
            if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(item.split(b"=")[1])] = int(child)
    return ranks


def test_a_killed_rank_stops_the_job_and_the_checkpoint_resumes_on_other_ranks(tmp_path):
    settings = dict(train_limit=2048, batch_size=32, epochs=2, checkpoint_every=8)
    uninterrupted = run(train_command("w1.toml", tmp_path, "whole", 0, 2, **settings))
    assert uninterrupted.returncode == 0, uninterrupted.stderr

    launcher = subprocess.Popen(train_command("w1.toml", tmp_path, "killed", 2, 1, **settings),
                                env=MPI_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "killed" / "checkpoint.bin"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and launcher.poll() is None:
        time.sleep(0.05)
    assert checkpoint.exists(), "no checkpoint was written"
    ranks = rank_processes(launcher)
    assert sorted(ranks) == [0, 1], ranks
    os.kill(ranks[1], signal.SIGKILL)
    killed_at = time.monotonic()
    _, stderr = launcher.communicate(timeout=60)
    stopped_after = time.monotonic() - killed_at
    assert launcher.returncode != 0
    assert stopped_after < 10, f"the job took {stopped_after:.1f} s to stop"
    assert "rank 1" in stderr, stderr

    # Resume on four ranks, then (after a second stop) on one: the uninterrupted run's metrics.
    resumed = run(train_command("w1.toml", tmp_path, "killed", 4, 1, **settings) + ["--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert metrics(tmp_path / "killed") == metrics(tmp_path / "whole")


def test_ranks_that_do_not_divide_the_shards_are_refused(tmp_path):
    refused = run(train_command("w1.toml", tmp_path, "three", 3, 1))
    assert refused.returncode == 2, refused.stderr
    assert "cannot be shared by 3 MPI ranks" in refused.stderr
    assert not (tmp_path / "three" / "metrics.jsonl").exists()


def test_only_train_and_sweep_run_on_several_ranks(tmp_path):
    refused = run([MPIEXEC, "-np", "2", BINARY, "config-reference"])
    assert refused.returncode == 2
    assert "only `homeostat train` and `homeostat sweep` run on several MPI ranks" in refused.stderr


def sweep_grid(directory, name):
    grid = directory / f"{name}.toml"
    grid.write_text(f'''name = "{name}"
base = "{SOURCE / "experiments" / "w1.toml"}"
seeds = [1, 2]
metrics = ["test_accuracy", "train_loss", "rate.hidden"]
set = ["data.train_limit=256", "data.test_limit=128", "train.batch_size=64",
       "diagnostics.report=false"]
[grid]
"train.lr" = [1e-3, 2e-3]
[output]
directory = "{directory / "runs"}"
''')
    return grid


def test_a_sweep_on_mpi_ranks_gives_the_figures_of_a_sweep_in_one_process(tmp_path):
    alone = run([BINARY, "sweep", str(sweep_grid(tmp_path, "alone")), "--no-progress"])
    assert alone.returncode == 0, alone.stderr
    ranks = run([MPIEXEC, "-np", "2", "--oversubscribe", BINARY, "sweep",
                 str(sweep_grid(tmp_path, "ranks")), "--workers", "1", "--threads", "1"])
    assert ranks.returncode == 0, ranks.stderr
    assert ranks.stdout.count("written:") == 1, ranks.stdout  # rank 0 reports
    assert "rank 1 of 2: 2 of them" in ranks.stdout

    def figures(name):
        folder = tmp_path / "runs" / name
        assert not list(folder.glob("results.rank*.jsonl")), "rank files were not merged"
        lines = [json.loads(l) for l in (folder / "results.jsonl").read_text().splitlines()]
        return {r["run"]: (r["status"], r["metrics"]) for r in lines}

    assert len(figures("ranks")) == 4
    assert figures("ranks") == figures("alone")
    summary = [(tmp_path / "runs" / n / "summary.csv").read_text() for n in ("alone", "ranks")]
    assert summary[0] == summary[1]
