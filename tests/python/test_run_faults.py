"""Fault injection on the `homeostat` binary (HOMEOSTAT_BINARY; ctest sets it):

- runs SIGKILLed at random moments (a fixed-seed RNG, spread over the run's measured duration)
  and then resumed (`train --resume`) or rerun (`simulate`, which has no resume), 20+ kills per
  run type, end exactly like an uninterrupted run: the same metrics (wall times aside), the same
  checkpoint, network state and responses files, no temporary file left; a killed run leaves no
  torn file (every file is absent or whole, metrics.jsonl a prefix of the full run's);
- writes to a full file system (a small tmpfs; needs root and a working `mount`, else skipped):
  never a zero exit with a missing or empty file, and the last checkpoint stays whole;
- two runs into one run directory: the second fails at once (exit 1) naming the first, which
  finishes unharmed.

The data is a tiny synthetic IDX set, so the whole module takes well under a minute.
"""

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import time
import zlib

import pytest

BINARY = os.environ.get("HOMEOSTAT_BINARY")
pytestmark = pytest.mark.skipif(not BINARY, reason="HOMEOSTAT_BINARY not set (run through ctest)")

# Sanitizer builds run several times slower; only the "at once" limit of the lock test scales.
SLOW = 5.0 if os.environ.get("ASAN_OPTIONS") else 1.0
KILLS = 20  # per run type, at least
TIMING_KEYS = {"seconds", "images_per_s", "train_seconds", "train_images_per_s"}


def write_idx(path, dims, data):
    with open(path, "wb") as out:
        out.write(bytes([0, 0, 8, len(dims)]))
        for d in dims:
            out.write(struct.pack(">I", d))
        out.write(bytes(data))


def write_data(directory, train=256, test=64, side=28, classes=10):
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = [(k * 7 + 3) % classes for k in range(count)]
        pixels = bytearray()
        for k, label in enumerate(labels):
            for p in range(side * side):
                on = (p + label) % classes < 3
                pixels.append((200 if on else 20) + (k * 37 + p * 11) % 40)
        write_idx(directory / f"{prefix}-images-idx3-ubyte", (count, side, side), pixels)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", (count,), labels)


def train_config(data, output, name="t", epochs=2, train_limit=256):
    return f"""name = "{name}"
seed = 3
[data]
directory = "{data}"
train_limit = {train_limit}
test_limit = 64
time_steps = 4
[[network.layers]]
kind = "dense"
units = 24
[[network.layers]]
kind = "lif"
name = "hidden"
[[network.layers]]
kind = "dense"
units = 10
init_gain = 3.0
[[network.layers]]
kind = "lif"
name = "out"
[train]
epochs = {epochs}
batch_size = 16
lr = 2e-3
[diagnostics]
batch_metrics_every = 1
[output]
directory = "{output}"
checkpoint_every = 2
progress_seconds = 0
"""


def w4_config(data, output, name="w", save_state=True):
    return f"""name = "{name}"
seed = 5
[data]
directory = "{data}"
train_images = 60
label_images = 30
test_images = 30
[excitatory]
count = 16
[inhibitory]
count = 16
[output]
directory = "{output}"
save_state = {"true" if save_state else "false"}
save_responses = true
"""


def ncg_config(data, output, name="n"):
    return f"""name = "{name}"
seed = 1
[simulation]
protocol = "ncg"
[data]
directory = "{data}"
train_images = 200
test_images = 64
epochs = 3
[ncg]
per_class = 4
steps = 40
[output]
directory = "{output}"
"""


def command(kind, config, resume=False):
    args = [BINARY, kind, str(config), "--threads", "1", "--no-progress"]
    return args + ["--resume"] if resume else args


def run(args, timeout=300):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def metrics(run_directory):
    """The complete lines of metrics.jsonl, wall-time fields dropped; a torn last line is left
    out (a killed run may end in one)."""
    path = run_directory / "metrics.jsonl"
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")[:-1]  # the part after the last newline is not a finished line
    records = []
    for line in lines:
        record = json.loads(line)
        for key in TIMING_KEYS:
            record.pop(key, None)
        records.append(record)
    return records


def checkpoint_is_whole(path):
    data = path.read_bytes()
    if len(data) < 24 or data[:8] != b"HSTATCKP":
        return False
    return struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


def checkpoint_content(path):
    """A checkpoint's header (less the config, which names the run) and its tensors' bytes."""
    data = path.read_bytes()
    assert checkpoint_is_whole(path)
    length = struct.unpack("<Q", data[12:20])[0]
    header = json.loads(data[20:20 + length])
    header.pop("config", None)
    return header, data[20 + length:-4]  # the CRC covers the config too


def expected_file(reference, name):
    """A file of the reference run as the run named "killed" writes it."""
    data = (reference / name).read_bytes()
    return data.replace(b'"reference"', b'"killed"').replace(b"'reference'", b"'killed'")


def temporaries(run_directory):
    return sorted(p.name for p in run_directory.iterdir() if ".tmp." in p.name)


class Killer:
    """Starts runs and SIGKILLs them at moments drawn from a fixed-seed RNG."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.kills = 0
        self.moments = []  # seconds after the start of each killed process

    def spread(self, duration):
        """The kill moments as fractions of the uninterrupted run's duration."""
        moments = sorted(m / duration for m in self.moments)
        return f"kills at {moments[0]:.2f} .. {moments[-1]:.2f} of it"

    def run(self, args, kill_after):
        """Runs `args`; SIGKILL after `kill_after` seconds (None: never). True when killed."""
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if kill_after is not None:
            try:
                process.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.communicate()
                self.kills += 1
                self.moments.append(kill_after)
                return True, None
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output.decode(errors="replace")
        return False, output


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fault_data")
    write_data(directory)
    return directory


def timed_reference(args):
    start = time.monotonic()
    result = run(args)
    assert result.returncode == 0, result.stdout + result.stderr
    return time.monotonic() - start


def test_killed_training_resumes_to_the_uninterrupted_run(data, tmp_path):
    runs = tmp_path / "runs"
    reference_config = tmp_path / "reference.toml"
    reference_config.write_text(train_config(data, runs, name="reference"))
    duration = timed_reference(command("train", reference_config))
    reference = runs / "reference"
    expected_metrics = metrics(reference)
    expected_checkpoint = checkpoint_content(reference / "checkpoint.bin")
    expected_raster = (reference / "raster.json").read_bytes()
    assert len(expected_metrics) > 10

    config = tmp_path / "killed.toml"
    config.write_text(train_config(data, runs, name="killed"))
    killed = runs / "killed"
    killer = Killer(seed=21)
    episodes = identical = 0
    while killer.kills < KILLS:
        episodes += 1
        kills_left = killer.rng.randint(1, 3)  # kill, resume, kill the resumed run, ...
        fresh = True
        while True:
            resume = not fresh and (killed / "checkpoint.bin").exists()
            kill_after = killer.rng.uniform(0.0, duration) if kills_left else None
            was_killed, _ = killer.run(command("train", config, resume), kill_after)
            fresh = False
            if not was_killed:
                break
            kills_left -= 1
            # The last checkpoint is always whole; metrics.jsonl holds whole records.
            if (killed / "checkpoint.bin").exists():
                assert checkpoint_is_whole(killed / "checkpoint.bin")
            metrics(killed)
        assert metrics(killed) == expected_metrics, f"episode {episodes}"
        assert checkpoint_content(killed / "checkpoint.bin") == expected_checkpoint
        assert (killed / "config.toml").read_bytes() == expected_file(reference, "config.toml")
        assert (killed / "raster.json").read_bytes() == expected_raster
        assert temporaries(killed) == []
        identical += 1
    print(f"\ntrain: {killer.kills} kills in {episodes} episodes, {identical} identical; "
          f"uninterrupted run {duration:.2f} s, {killer.spread(duration)}")


def check_simulation_files(run_directory, reference, names, expected_metrics):
    """A killed simulation leaves every file whole: absent or as the full run writes it."""
    for name in names:
        path = run_directory / name
        if path.exists():
            assert path.read_bytes() == expected_file(reference, name), name
    got = metrics(run_directory)
    assert got == expected_metrics[:len(got)]


@pytest.mark.parametrize("protocol", ["w4", "ncg"])
def test_killed_simulation_reruns_to_the_uninterrupted_run(data, tmp_path, protocol):
    runs = tmp_path / "runs"
    make = w4_config if protocol == "w4" else ncg_config
    files = ["config.toml"]
    if protocol == "w4":
        files += ["network.ckpt", "train_responses.bin", "label_responses.bin",
                  "test_responses.bin"]
    reference_config = tmp_path / "reference.toml"
    reference_config.write_text(make(data, runs, name="reference"))
    duration = timed_reference(command("simulate", reference_config))
    reference = runs / "reference"
    expected_metrics = metrics(reference)
    for name in files:
        assert (reference / name).stat().st_size > 0, name

    config = tmp_path / "killed.toml"
    config.write_text(make(data, runs, name="killed"))
    killed = runs / "killed"
    killer = Killer(seed=22 if protocol == "w4" else 23)
    wanted = KILLS // 2  # the two protocols together: KILLS simulate kills
    episodes = identical = 0
    while killer.kills < wanted:
        episodes += 1
        kills_left = killer.rng.randint(1, 3)
        while True:
            kill_after = killer.rng.uniform(0.0, duration) if kills_left else None
            was_killed, _ = killer.run(command("simulate", config), kill_after)
            if not was_killed:
                break
            kills_left -= 1
            check_simulation_files(killed, reference, files, expected_metrics)
        assert metrics(killed) == expected_metrics, f"episode {episodes}"
        for name in files:
            assert (killed / name).read_bytes() == expected_file(reference, name), name
        assert temporaries(killed) == []
        identical += 1
    print(f"\nsimulate {protocol}: {killer.kills} kills in {episodes} episodes, {identical} "
          f"identical; uninterrupted run {duration:.2f} s, {killer.spread(duration)}")


def test_a_second_run_into_a_locked_directory_fails_at_once(data, tmp_path):
    runs = tmp_path / "runs"
    first_config = tmp_path / "first.toml"
    first_config.write_text(train_config(data, runs, name="busy", epochs=6))
    first = subprocess.Popen(command("train", first_config), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    lock = runs / "busy" / ".lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert first.poll() is None, "the first run ended before the second started"
    seconds = {}
    for kind, config in (("train", first_config), ("simulate", tmp_path / "second.toml")):
        if kind == "simulate":
            config.write_text(w4_config(data, runs, name="busy"))
        start = time.monotonic()
        second = run(command(kind, config))
        seconds[kind] = time.monotonic() - start
        assert second.returncode == 1, second.stdout + second.stderr
        assert "is in use by another run" in second.stderr, second.stderr
        assert f"pid {first.pid} on host" in second.stderr, second.stderr
        assert seconds[kind] < 1.0 * SLOW, seconds
    assert first.poll() is None, "the first run ended before the second finished"
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output.decode(errors="replace")
    # Unharmed: exactly the records of the same run alone.
    alone_config = tmp_path / "alone.toml"
    alone_config.write_text(train_config(data, runs, name="alone", epochs=6))
    assert run(command("train", alone_config)).returncode == 0
    assert metrics(runs / "busy") == metrics(runs / "alone")
    assert checkpoint_content(runs / "busy" / "checkpoint.bin") == \
        checkpoint_content(runs / "alone" / "checkpoint.bin")
    print(f"\nsecond run into a locked directory failed after {seconds['train']:.3f} s (train), "
          f"{seconds['simulate']:.3f} s (simulate)")


class Tmpfs:
    """A tmpfs of `size_kb` mounted on `directory`; pytest.skip when it cannot be mounted."""

    def __init__(self, directory, size_kb):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("full-disk tests need root and mount (to mount a small tmpfs)")
        result = run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(directory)])
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")

    def fill(self, leave_kb):
        """Fills the file system up to `leave_kb` free kilobytes."""
        stat = os.statvfs(self.directory)
        free = stat.f_bavail * stat.f_frsize
        filler = self.directory / "filler"
        with open(filler, "ab") as out:
            out.write(b"\0" * max(0, free - leave_kb * 1024))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        run(["umount", str(self.directory)])


def no_empty_files(run_directory):
    return [p.name for p in run_directory.iterdir()
            if p.is_file() and p.stat().st_size == 0 and p.name != ".lock"]


def check_full_disk_outcome(result, run_directory, wanted):
    """A zero exit only with every wanted file there and not empty; any other exit is 1 and says
    which file failed."""
    if result.returncode == 0:
        for name in wanted:
            assert (run_directory / name).stat().st_size > 0, name
        assert no_empty_files(run_directory) == []
        return True
    assert result.returncode == 1, result.stdout + result.stderr
    assert "disk full" in result.stderr or "No space left" in result.stderr, result.stderr
    return False


# Free space (kB) left on the tmpfs before each run, from none to enough: tmpfs allocates in pages,
# so the steps make the run fail at one file after another.
SIMULATE_FREE_KB = [0, 4, 8, 12, 16, 24, 64, 128, 256]
TRAIN_FREE_KB = [0, 4, 8, 16, 64, 200, 228, 232, 236, 240, 280, 1024]


def test_simulate_on_a_full_disk_never_exits_zero_with_an_empty_file(data, tmp_path):
    outcomes = []
    responses = ["label_responses.bin", "train_responses.bin", "test_responses.bin"]
    cases = (("ncg", ncg_config, ["config.toml", "metrics.jsonl"]),
             ("w4", lambda d, o: w4_config(d, o, save_state=False),
              ["config.toml", "metrics.jsonl"] + responses),
             ("w4 saving its state", w4_config,
              ["config.toml", "metrics.jsonl", "network.ckpt"] + responses))
    for case, make, wanted in cases:
        for free in SIMULATE_FREE_KB:
            mount = tmp_path / f"{len(outcomes)}"
            with Tmpfs(mount, 1024) as fs:
                config = tmp_path / f"{len(outcomes)}.toml"
                config.write_text(make(data, mount / "runs"))
                fs.fill(free)
                result = run(command("simulate", config))
                run_directory = mount / "runs" / "w" if case.startswith("w4") else \
                    mount / "runs" / "n"
                if run_directory.exists():
                    check_full_disk_outcome(result, run_directory, wanted)
                else:
                    assert result.returncode == 1, result.stdout + result.stderr
                outcomes.append((case, free, result.returncode))
    # The sizes reach from failing at once to a whole run.
    for case, _, _ in cases:
        codes = [code for c, _, code in outcomes if c == case]
        assert codes[0] == 1 and codes[-1] == 0, outcomes
    print("\nsimulate on a full disk (protocol, free kB, exit):", outcomes)


def test_train_on_a_full_disk_keeps_the_last_checkpoint(data, tmp_path):
    outcomes = []
    for free in TRAIN_FREE_KB:
        mount = tmp_path / f"train_{free}"
        with Tmpfs(mount, 2048) as fs:
            runs = mount / "runs"
            config = tmp_path / f"train_{free}.toml"
            config.write_text(train_config(data, runs, name="t", epochs=2))
            # A run stopped at batch 5 (a checkpoint at batch 4), then resumed on a full disk.
            stopped = run(command("train", config) + ["--stop-after-batches", "5"])
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            checkpoint = runs / "t" / "checkpoint.bin"
            before = checkpoint.read_bytes()
            fs.fill(free)
            result = run(command("train", config, resume=True))
            wanted = ["config.toml", "metrics.jsonl", "checkpoint.bin", "raster.json",
                      "report.html"]
            check_full_disk_outcome(result, runs / "t", wanted)
            # Whatever failed, the checkpoint is whole: the one before, or a later one.
            assert checkpoint_is_whole(checkpoint)
            kept = checkpoint.read_bytes() == before
            outcomes.append((free, result.returncode, "kept" if kept else "newer"))
    assert outcomes[0][1] == 1 and outcomes[-1][1] == 0, outcomes
    print("\ntrain on a full disk (free kB, exit, checkpoint):", outcomes)
