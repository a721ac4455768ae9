"""What the peer benchmarks share: data, encoders, the timing loop and the result record.

homeostat's standard workloads W1-W3 are trained here by other frameworks (snnTorch,
SpikingJelly) so that their speed and memory can be put next to `homeostat bench` on the same
machine. This module holds everything that is not the framework's business, written with the
standard library, NumPy and PyTorch only:

- Fashion-MNIST from IDX files (idx_files.py: Debian's `dataset-fashion-mnist` puts them in
  /usr/share/datasets/fashion-mnist/; --data-dir names any folder with the same four files,
  gzipped or not);
- the two input codes: a Bernoulli rate code (W1, W3; the framework scripts use their own
  framework's encoder unless --encoder common) and pixel rows as input current (W2);
- the measurement: batches of 128 in a seeded random order, the first WARMUP of them not
  counted, the median ms per training step (forward, loss, backward, optimizer step, encoding
  included) over the next MEASURE, test accuracy where the workload has one, peak RSS;
- one JSON record per run (--out).

A framework script calls `parse_args(...)`, `import_peer(...)`, then `run(...)` with a
`build(workload, variant, encoder)` function that returns a `Trainer`.
"""

import argparse
import ctypes
import importlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

import idx_files
from idx_files import DEFAULT_DATA_DIR
BATCH = 128
WARMUP = 5                # batches not counted
MEASURE = 50              # batches the median is taken over (W1, W2)
W3_BATCHES = 20           # W3 trains 20 batches only: median over batches 5..19
EPOCH_BUDGET_S = 600.0    # W1, W2: a whole epoch if it is estimated to take at most this ...
FALLBACK_BATCHES = 200    # ... otherwise this many batches before the accuracy is taken
EVAL_CHUNK = 500

# The neuron every workload uses: v[t] = BETA * v[t-1] + I[t], spike when v >= THRESHOLD,
# reset by subtracting THRESHOLD; surrogate derivative fast sigmoid with slope SLOPE.
BETA = 0.95
THRESHOLD = 1.0
SLOPE = 25.0


@dataclass(frozen=True)
class Workload:
    name: str
    steps: int            # time steps T
    learning_rate: float  # Adam
    what: str


WORKLOADS = {
    "w1": Workload("w1", 25, 5e-4, "784-1000-10 LIF feed-forward, Bernoulli rate code, T=25"),
    "w2": Workload("w2", 28, 1e-3, "28-256(recurrent)-10 LIF, pixel rows as current, T=28"),
    "w3": Workload("w3", 25, 5e-4, "12C5-MP2-64C5-MP2-FC10 LIF, Bernoulli rate code, T=25"),
}

# Where a user gets each peer's source (public GitHub repositories). The package folder is
# extracted from a bare clone with `git archive`; nothing of it is ever part of homeostat.
PEER_SOURCES = {
    "snntorch": {
        "repository": "jeshraghian/snntorch",
        "commit": "634fc22385ec5581998e62787bbe39b53662140f",
        "release": "0.9.4",
    },
    "spikingjelly": {
        "repository": "fangwei123456/spikingjelly",
        "commit": "0f5840d5f212431fcf3f05e6acee742dd3c7706f",
        "release": "0.0.0.0.14",
    },
}


def how_to_get(package, folder="/tmp/peers"):
    """The commands that put a peer's package folder under folder/package/package."""
    source = PEER_SOURCES[package]
    return (f"make a bare clone of the public GitHub repository {source['repository']} at "
            f"/tmp/{package}.git, then\n"
            f"  mkdir -p {folder}/{package}\n"
            f"  git --git-dir=/tmp/{package}.git archive {source['commit']} {package} "
            f"| tar -x -C {folder}/{package}\n"
            f"then pass --source {folder}/{package} (or put that folder on PYTHONPATH); "
            f"see bench/peers/README.md")


def fail(message):
    """Stops the script with a message and exit status 2 (not a traceback)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def import_peer(package, source):
    """Imports a peer framework, from the folder `source` (holding source/package/) when given,
    else from sys.path, and says how to get it when it is not there."""
    if source is not None:
        source = os.path.abspath(source)
        if not os.path.isfile(os.path.join(source, package, "__init__.py")):
            fail(f"{os.path.join(source, package, '__init__.py')} not found: --source must name "
                 f"the folder that holds the {package}/ package folder. To get it:\n  "
                 + how_to_get(package))
        sys.path.insert(0, source)
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as error:
        if error.name != package:
            fail(f"{package} needs the Python module {error.name!r}: install its Debian package "
                 f"(python3-{error.name.split('.')[0]}; see bench/peers/README.md)")
        fail(f"{package} is not importable (searched {source or 'sys.path / PYTHONPATH'}). "
             "To get it:\n  " + how_to_get(package))


# ----------------------------------------------------------------------------- data
def load_split(data_dir, split):
    """(images uint8 tensor [N, 28, 28], labels int64 tensor [N]) of 'train' or 'test'."""
    images, labels = idx_files.load_split(data_dir, split)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def to_unit(images):
    """uint8 images -> float32 in [0, 1]."""
    return images.to(torch.float32).div_(255.0)


# ------------------------------------------------------------------------- encoders
def rate_code(intensity, steps):
    """Bernoulli rate code: [T, *intensity.shape] spikes, P(spike) = intensity, drawn anew at
    every call (so every batch sees a fresh draw), from torch's global generator."""
    probability = intensity.unsqueeze(0).expand(steps, *intensity.shape)
    return torch.bernoulli(probability)


def row_current(images):
    """W2's input: image rows as input current, time-major [28 rows, B, 28 pixels]."""
    return images.transpose(0, 1).contiguous()


# -------------------------------------------------------------------- machine facts
def mapped_libraries(*words):
    """Real paths of the shared libraries this process has mapped whose path has a word."""
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if path.startswith("/") and any(word in path for word in words):
                    found.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(found)


def openblas_core():
    """OpenBLAS's kernel set (e.g. 'Haswell', 'SkylakeX', 'Zen'); None when torch did not load
    OpenBLAS. Checked in the maps first so that the probe cannot load OpenBLAS itself."""
    for path in mapped_libraries("openblas"):
        try:
            library = ctypes.CDLL(path)
            library.openblas_get_corename.restype = ctypes.c_char_p
            return library.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


def cpu_facts():
    model, flags = None, set()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model is None:
                model = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    return {"cpu_model": model, "logical_cpus": os.cpu_count(),
            "cpu_flags": [flag for flag in wanted if flag in flags]}


def machine_facts():
    facts = cpu_facts()
    allocator = "tcmalloc" if mapped_libraries("tcmalloc") else "glibc"
    facts.update({
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "blas_libraries": mapped_libraries("blas", "lapack"),
        "openblas_core": openblas_core(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "allocator": allocator,
        "platform": platform.platform(),
    })
    return facts


def peak_rss_mb():
    """This process's peak resident set size in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------ arguments
def parse_args(framework, variants, description):
    """Common options. variants: {name: what it means}, the first being the default."""
    variant_help = "; ".join(f"{name}: {what}" for name, what in variants.items())
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Workloads: " + "; ".join(f"{w.name}: {w.what}" for w in WORKLOADS.values())
               + f". Median over batches {WARMUP}..{WARMUP + MEASURE - 1} (W3: {WARMUP}.."
               f"{W3_BATCHES - 1}); the batches before are warm-up.")
    parser.add_argument("--workload", required=True, choices=[*WORKLOADS, "none"],
                        help="which workload to train; none: import the framework and load the "
                             "data only (the baseline RSS)")
    parser.add_argument("--variant", default=next(iter(variants)), choices=list(variants),
                        help=f"how the network is written ({variant_help})")
    parser.add_argument("--max-batches", type=int, default=None, metavar="N",
                        help="train exactly N batches (default: W1, W2 one epoch when it is "
                             f"estimated under {EPOCH_BUDGET_S:.0f} s, else {FALLBACK_BATCHES}; "
                             f"W3 {W3_BATCHES})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the batch order, the weights and the spike draws")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--out", default=None, metavar="FILE.json",
                        help="write the result record here")
    parser.add_argument("--encoder", default="framework", choices=["framework", "common"],
                        help="W1, W3 rate code: the framework's own encoder, or common.rate_code "
                             "(the same distribution, the same code for every framework)")
    parser.add_argument("--eval-images", type=int, default=None, metavar="N",
                        help="test images for the accuracy after training (default: all 10,000 "
                             "for W1, W2; none for W3); 0 skips it")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="folder of the Fashion-MNIST IDX files (default: %(default)s)")
    parser.add_argument("--source", default=None, metavar="DIR",
                        help=f"folder holding the {framework}/ package folder (default: find "
                             f"{framework} on PYTHONPATH)")
    parser.add_argument("--label", default=None,
                        help="version label for the record (default: the package's __version__ "
                             "or the pinned release)")
    args = parser.parse_args()
    if args.max_batches is not None and args.max_batches < 1:
        parser.error("--max-batches must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


# --------------------------------------------------------------------------- the run
@dataclass
class Trainer:
    """What a framework script builds for one workload. train_step(x, y) takes float images
    [B, 28, 28] in [0, 1] and int64 labels, does one optimizer step and returns the loss;
    predict(x) returns class scores [B, 10] (output spike counts)."""
    model: torch.nn.Module
    train_step: Callable
    predict: Callable
    notes: str = ""
    extra: dict = field(default_factory=dict)


def batch_budget(args, seconds_per_batch, batches_per_epoch):
    """Batches to train and why: a fixed count, or the W1/W2 epoch rule once the measurement
    window has given a speed (seconds_per_batch None until then)."""
    if args.max_batches is not None:
        return min(args.max_batches, batches_per_epoch), f"--max-batches {args.max_batches}"
    if args.workload == "w3":
        return W3_BATCHES, f"W3: {W3_BATCHES} batches"
    if seconds_per_batch is None:
        return None, None
    if seconds_per_batch * batches_per_epoch <= EPOCH_BUDGET_S:
        return batches_per_epoch, "1 epoch"
    return FALLBACK_BATCHES, f"{FALLBACK_BATCHES} batches (an epoch would take > " \
                             f"{EPOCH_BUDGET_S:.0f} s)"


def measurement_window(workload, batches):
    """(first, end) of the batches the median is taken over. With fewer batches than the warm-up
    needs (a smoke run), all but the first batch are measured, and at least one."""
    warmup = min(WARMUP, batches - 1)
    end = batches if workload == "w3" else min(batches, warmup + MEASURE)
    return warmup, end


def accuracy(trainer, images, labels):
    correct = 0
    with torch.no_grad():
        for start in range(0, images.shape[0], EVAL_CHUNK):
            scores = trainer.predict(to_unit(images[start:start + EVAL_CHUNK]))
            correct += (scores.argmax(-1) == labels[start:start + EVAL_CHUNK]).sum().item()
    return correct / images.shape[0]


def run(framework, module, args, build):
    """Trains args.workload with the Trainer that build(workload, variant, encoder) returns and
    writes the record. Returns the record."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    source = PEER_SOURCES.get(framework, {})
    record = {
        "framework": framework,
        "framework_version": (args.label or getattr(module, "__version__", None)
                              or source.get("release", "unknown")),
        "framework_path": os.path.dirname(os.path.abspath(module.__file__)),
        "workload": args.workload,
        "variant": args.variant,
        "encoder": args.encoder,
        "seed": args.seed,
        "threads": args.threads,
        "machine": machine_facts(),
    }

    started = time.perf_counter()
    train_images, train_labels = load_split(args.data_dir, "train")
    test_images, test_labels = load_split(args.data_dir, "test")
    record["data_load_s"] = time.perf_counter() - started
    if args.workload == "none":
        record["peak_rss_mb"] = peak_rss_mb()
        write_record(record, args.out)
        print(json.dumps({k: record[k] for k in ("framework", "workload", "peak_rss_mb")}))
        return record

    workload = WORKLOADS[args.workload]
    trainer = build(workload, args.variant, args.encoder)
    record.update({
        "notes": trainer.notes,
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "batch": BATCH,
        "steps": workload.steps,
        "learning_rate": workload.learning_rate,
        **trainer.extra,
    })

    batches_per_epoch = -(-train_images.shape[0] // BATCH)
    order = torch.randperm(train_images.shape[0],
                           generator=torch.Generator().manual_seed(args.seed))
    budget, budget_reason = batch_budget(args, None, batches_per_epoch)
    seconds, losses = [], []
    trainer.model.train()
    training_started = time.perf_counter()
    batch = 0
    while budget is None or batch < budget:
        chosen = order[batch * BATCH:(batch + 1) * BATCH]
        images, labels = to_unit(train_images[chosen]), train_labels[chosen]
        step_started = time.perf_counter()
        loss = trainer.train_step(images, labels)
        seconds.append(time.perf_counter() - step_started)
        losses.append(float(loss))
        batch += 1
        if budget is None and batch == WARMUP + MEASURE:
            budget, budget_reason = batch_budget(
                args, statistics.median(seconds[WARMUP:]), batches_per_epoch)
        if batch % 50 == 0:
            print(f"[{framework} {args.workload}] batch {batch} loss {loss:.4f} "
                  f"{seconds[-1] * 1e3:.1f} ms", flush=True)
    training_s = time.perf_counter() - training_started

    first, end = measurement_window(args.workload, len(seconds))
    window_ms = [s * 1e3 for s in seconds[first:end]]
    median_ms = statistics.median(window_ms)
    record.update({
        "batches_trained": len(seconds),
        "budget": budget_reason,
        "measured_batches": f"{first}..{end - 1}",
        "ms_per_batch_median": median_ms,
        "ms_per_batch_min": min(window_ms),
        "ms_per_batch_max": max(window_ms),
        "ms_per_batch_p10": float(np.percentile(window_ms, 10)),
        "ms_per_batch_p90": float(np.percentile(window_ms, 90)),
        "warmup_ms": [s * 1e3 for s in seconds[:first]],
        "estimated_epoch_s": median_ms * 1e-3 * batches_per_epoch,
        "batches_per_epoch": batches_per_epoch,
        "training_s": training_s,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "loss_last10_mean": float(np.mean(losses[-10:])),
    })
    if first < WARMUP:
        record["warning"] = (f"only {len(seconds)} batches: {first} of warm-up instead of "
                             f"{WARMUP}; a smoke run, not a measurement")

    eval_images = args.eval_images
    if eval_images is None:
        eval_images = 0 if args.workload == "w3" else test_images.shape[0]
    eval_images = min(eval_images, test_images.shape[0])
    record["test_accuracy"] = None
    if eval_images > 0:
        trainer.model.eval()
        eval_started = time.perf_counter()
        record["test_accuracy"] = accuracy(trainer, test_images[:eval_images],
                                           test_labels[:eval_images])
        record["test_images"] = eval_images
        record["eval_s"] = time.perf_counter() - eval_started

    record["peak_rss_mb"] = peak_rss_mb()
    write_record(record, args.out)
    print(json.dumps({k: record.get(k) for k in (
        "framework", "workload", "variant", "batches_trained", "ms_per_batch_median",
        "test_accuracy", "peak_rss_mb", "warning")}))
    return record


def write_record(record, path):
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as out:
        json.dump(record, out, indent=1)
        out.write("\n")
