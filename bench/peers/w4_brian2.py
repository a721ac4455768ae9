#!/usr/bin/python3
"""W4 in Brian2: the Diehl & Cook (2015) style STDP competition, homeostat's reference for W4.

Written from the workload definition below for Debian's python3-brian (2.5.1); it needs NumPy
and Brian2 only (no torch). One presentation slot is 350 ms of input and 150 ms of rest.

Model (numbers are W4's; homeostat's experiments/w4.toml is the same network):
- Input: 784 Poisson neurons, rate = pixel/255 * 31.875 Hz * intensity while an image is
  shown, 0 during the rest. Intensity starts at 2 (63.75 Hz at most). When the excitatory
  layer fires fewer than 5 spikes while an image is shown, the same image is shown again in the
  next slot with intensity + 1 (a retry); otherwise the next slot shows the next image at 2.
- 400 excitatory conductance LIF neurons:
      tau_m dv/dt = (v_rest - v) + ge (E_exc - v) + gi (E_inh - v)
  v_rest = v_reset = -65 mV, tau_m 100 ms, E_exc 0 mV, E_inh -100 mV, tau_ge 1 ms, tau_gi 2 ms,
  refractory 5 ms, spike when v > -52 mV + theta; theta += 0.05 mV per spike and decays with
  tau_theta = 1e7 ms.
- 400 inhibitory LIF neurons: tau_m dv/dt = (v_rest - v) + ge (E_exc - v), v_rest -60 mV,
  v_reset -45 mV, threshold -40 mV, tau_m 10 ms, tau_ge 1 ms, refractory 2 ms.
- Excitatory -> inhibitory one to one (ge += 10.4); inhibitory -> excitatory all but self
  (gi += 17.0). Both groups start at v_rest - 40 mV and use the exponential Euler integrator
  (forward Euler at dt 0.5 ms overshoots after a synchronous inhibitory volley).
- Input -> excitatory all to all, w0 ~ U(0, 0.3), pair STDP with traces that are set to 1 by a
  spike and decay with 20 ms (trace_in on the input, trace_out on the excitatory side):
      input spike:      ge_post += w;  w = clip(w - 1e-4 * trace_out, 0, 1)
      excitatory spike: w = clip(w + 1e-2 * trace_in * (1 - w), 0, 1)
  An input spike's trace reset is seen by an excitatory spike in the same step.
- Before every slot each excitatory neuron's 784 input weights are scaled to sum to 78.
- dt 0.5 ms. Optional frozen passes after training (no STDP, theta neither grows nor decays,
  state carried over from training): over the first --n-label training images, each excitatory
  neuron is labelled with the class of its highest mean spike count (argmax, so a silent neuron
  gets class 0); over the first --n-test test images, an image's class is the one whose
  labelled neurons have the highest mean spike count.

Each phase (train, label, test) is one Brian2 run() of a fixed number of slots, for every code
generation target: a one-neuron controller group decides image and intensity at each slot's
start, so no Python runs between slots. Slots left after the phase's last image stay idle;
--train-margin and --eval-margin add slots for retries.

  /usr/bin/python3 bench/peers/w4_brian2.py --target cpp_standalone --threads 1 --n-train 100 \\
      --json /tmp/w4.json
"""

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idx_files  # noqa: E402

N_INPUT, N_EXC, N_INH = 784, 400, 400
DT_MS = 0.5
SHOW_MS, REST_MS = 350.0, 150.0
SHOW_STEPS = int(round(SHOW_MS / DT_MS))
SLOT_STEPS = int(round((SHOW_MS + REST_MS) / DT_MS))
MIN_SPIKES = 5
START_INTENSITY = 2.0
NU_PRE, NU_POST, W_MAX = 1e-4, 1e-2, 1.0
W_TOTAL = 78.0
THETA_PLUS_MV = 0.05


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The model is in this script's docstring.")
    parser.add_argument("--target", choices=["cpp_standalone", "cython", "numpy"],
                        default="cpp_standalone", help="Brian2 code generation target")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads (cpp_standalone only; 1 is often the fastest)")
    parser.add_argument("--n-train", type=int, default=100,
                        help="training images: the training phase has this many slots times "
                             "(1 + --train-margin)")
    parser.add_argument("--train-margin", type=float, default=0.0,
                        help="extra training slots, as a fraction of --n-train, so that retries "
                             "still let every image finish (idle after the last one)")
    parser.add_argument("--n-label", type=int, default=0,
                        help="frozen pass over the first N training images to label the "
                             "neurons (0: no accuracy)")
    parser.add_argument("--n-test", type=int, default=0,
                        help="frozen pass over the first N test images")
    parser.add_argument("--eval-margin", type=float, default=0.5,
                        help="extra slots for retries in the frozen passes, as a fraction")
    parser.add_argument("--traces", choices=["neuron", "synapse"], default="neuron",
                        help="STDP traces on the neurons (one per input, one per excitatory "
                             "neuron: the cheapest) or per synapse, event-driven (Brian2's "
                             "textbook form); the same rule")
    parser.add_argument("--method", default="exponential_euler",
                        help="Brian2 integrator of the excitatory and inhibitory groups")
    parser.add_argument("--seed", type=int, default=1, help="seed of w0 and the Poisson draws")
    parser.add_argument("--data-dir", default=idx_files.DEFAULT_DATA_DIR,
                        help="folder of the Fashion-MNIST IDX files (default: %(default)s)")
    parser.add_argument("--build-dir", default="/tmp/w4_brian2_build",
                        help="cpp_standalone project folder")
    parser.add_argument("--cython-cache", default="/tmp/w4_brian2_cython",
                        help="cython target's cache folder")
    parser.add_argument("--clear-cache", action="store_true",
                        help="delete the build folder or cython cache first (a cold compile)")
    parser.add_argument("--load-weights", default=None, metavar="FILE.npz",
                        help="start from saved weights and theta (from --save-weights); with "
                             "--n-train 0 only the frozen passes run")
    parser.add_argument("--save-weights", default=None, metavar="FILE.npz",
                        help="save the input weights w [784, 400] (presynaptic-major) and "
                             "theta [400] in mV after the last phase")
    parser.add_argument("--json", default=None, metavar="FILE.json",
                        help="write the result record here (it is printed as well)")
    args = parser.parse_args()
    for name in ("n_train", "n_label", "n_test"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.n_train + args.n_label + args.n_test == 0:
        parser.error("nothing to run: --n-train, --n-label and --n-test are all 0")
    if (args.n_label > 0) != (args.n_test > 0):
        parser.error("--n-label and --n-test go together (labels are only used by the test)")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.load_weights and not os.path.isfile(args.load_weights):
        parser.error(f"--load-weights: {args.load_weights} not found")
    return args


def import_brian2():
    try:
        import brian2
    except ModuleNotFoundError:
        print("error: Brian2 is not installed: apt-get install python3-brian (Debian 12: 2.5.1)",
              file=sys.stderr)
        sys.exit(2)
    brian2.BrianLogger.log_level_warn()
    return brian2


class Phase:
    """One run(): images [first, end) of the stacked pixel table, over `slots` slots."""

    def __init__(self, name, first, end, slots, plastic):
        self.name, self.first, self.end, self.slots, self.plastic = (name, first, end, slots,
                                                                     plastic)


def plan(args):
    """(pixels [images, 784] in [0, 1], train labels, test labels, phases)."""
    train_images, train_labels = idx_files.load_split(args.data_dir, "train")
    test_images, test_labels = idx_files.load_split(args.data_dir, "test")
    n_from_train = max(args.n_train, args.n_label)
    if n_from_train > train_images.shape[0] or args.n_test > test_images.shape[0]:
        sys.exit(f"error: the data has {train_images.shape[0]} training and "
                 f"{test_images.shape[0]} test images")
    pixels = np.concatenate([train_images[:n_from_train].reshape(-1, N_INPUT),
                             test_images[:args.n_test].reshape(-1, N_INPUT)]) / 255.0
    phases = []
    if args.n_train:
        phases.append(Phase("train", 0, args.n_train,
                            int(round(args.n_train * (1 + args.train_margin))), True))
    if args.n_label:
        phases.append(Phase("label", 0, args.n_label,
                            int(round(args.n_label * (1 + args.eval_margin))), False))
        phases.append(Phase("test", n_from_train, n_from_train + args.n_test,
                            int(round(args.n_test * (1 + args.eval_margin))), False))
    return pixels, train_labels, test_labels, phases


def set_up_target(b2, args):
    if args.target == "cpp_standalone":
        if args.clear_cache and os.path.isdir(args.build_dir):
            shutil.rmtree(args.build_dir)
        b2.set_device("cpp_standalone", directory=args.build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
    else:
        if args.clear_cache and os.path.isdir(args.cython_cache):
            shutil.rmtree(args.cython_cache)
        b2.prefs.codegen.target = args.target
        b2.prefs.codegen.runtime.cython.cache_dir = args.cython_cache


def build_network(b2, args, pixels):
    """The W4 network. Returns (network, namespace, objects by name)."""
    from brian2 import Hz, mV, ms, second
    b2.defaultclock.dt = DT_MS * ms
    slot = SLOT_STEPS * DT_MS * ms
    namespace = {
        "pixels": b2.TimedArray(pixels, dt=1 * second),   # pixels(image * second, i)
        "show_steps": SHOW_STEPS, "min_spikes": MIN_SPIKES, "start_intensity": START_INTENSITY,
        "rate_step": 31.875 * Hz,
        "v_rest_e": -65 * mV, "v_reset_e": -65 * mV, "v_thresh_e": -52 * mV,
        "tau_e": 100 * ms, "E_exc": 0 * mV, "E_inh": -100 * mV,
        "v_rest_i": -60 * mV, "v_reset_i": -45 * mV, "v_thresh_i": -40 * mV, "tau_i": 10 * ms,
        "tau_ge": 1 * ms, "tau_gi": 2 * ms, "tau_trace": 20 * ms, "w_max": W_MAX,
        "w_ei": 10.4, "w_ie": 17.0,
    }

    # The controller: at each slot's start, the next image (or a retry of this one) and its
    # intensity; shown_spikes counts the excitatory spikes while the image is shown (the
    # synapses "counting" add them up).
    controller = b2.NeuronGroup(1, """image : integer
                                      image_end : integer
                                      intensity : 1
                                      shown_spikes : integer
                                      slot_start : integer
                                      normalized : 1""", name="controller")
    decide = """next_one = int(shown_spikes >= min_spikes)
                image = image + next_one
                intensity = next_one * start_intensity + (1 - next_one) * (intensity + 1)
                shown_spikes = 0
                slot_start = t_in_timesteps
             """

    neuron_traces = args.traces == "neuron"
    inputs = b2.NeuronGroup(N_INPUT, """
        rate = pixels(image * second, i) * intensity * rate_step
               * int(t_in_timesteps - slot_start < show_steps) * int(image < image_end) : Hz
        image : integer (linked)
        image_end : integer (linked)
        intensity : 1 (linked)
        slot_start : integer (linked)
        """ + ("dtrace_in/dt = -trace_in / tau_trace : 1" if neuron_traces else ""),
        threshold="rand() < rate * dt", reset="trace_in = 1" if neuron_traces else "",
        method="exact", name="inputs")
    to_controller = np.zeros(N_INPUT, dtype=int)
    for name in ("image", "image_end", "intensity", "slot_start"):
        setattr(inputs, name, b2.linked_var(controller, name, index=to_controller))
    if neuron_traces:
        # the input's trace reset goes before the synapses, so that an excitatory spike in the
        # same step sees it (as the per-synapse traces do: on_pre runs before on_post)
        inputs.resetter["spike"].when = "thresholds"
        inputs.resetter["spike"].order = 1

    excitatory = b2.NeuronGroup(N_EXC, """
        dv/dt = ((v_rest_e - v) + ge * (E_exc - v) + gi * (E_inh - v)) / tau_e
                : volt (unless refractory)
        dge/dt = -ge / tau_ge : 1
        dgi/dt = -gi / tau_gi : 1
        dtheta/dt = -theta * theta_decay : volt
        theta_plus : volt (shared)
        theta_decay : Hz (shared)
        """ + ("dtrace_out/dt = -trace_out / tau_trace : 1" if neuron_traces else ""),
        threshold="v > v_thresh_e + theta",
        reset="v = v_reset_e\ntheta += theta_plus" + ("\ntrace_out = 1" if neuron_traces else ""),
        refractory=5 * ms, method=args.method, name="excitatory")
    inhibitory = b2.NeuronGroup(N_INH, """
        dv/dt = ((v_rest_i - v) + ge * (E_exc - v)) / tau_i : volt (unless refractory)
        dge/dt = -ge / tau_ge : 1
        """, threshold="v > v_thresh_i", reset="v = v_reset_i", refractory=2 * ms,
        method=args.method, name="inhibitory")

    rates = "w : 1\ndepression : 1 (shared)\npotentiation : 1 (shared)\n"
    if neuron_traces:
        plastic = b2.Synapses(
            inputs, excitatory, rates,
            on_pre="ge_post += w\nw = clip(w - depression * trace_out_post, 0, w_max)",
            on_post="w = clip(w + potentiation * trace_in_pre * (w_max - w), 0, w_max)",
            name="input_weights")
    else:
        plastic = b2.Synapses(
            inputs, excitatory, rates + """
                dtrace_in/dt = -trace_in / tau_trace : 1 (event-driven)
                dtrace_out/dt = -trace_out / tau_trace : 1 (event-driven)""",
            on_pre="ge_post += w\ntrace_in = 1\nw = clip(w - depression * trace_out, 0, w_max)",
            on_post="w = clip(w + potentiation * trace_in * (w_max - w), 0, w_max)\ntrace_out = 1",
            name="input_weights")
    plastic.connect()
    if args.load_weights:
        saved = np.load(args.load_weights)
        start_w, start_theta = saved["w"], saved["theta"]
        if start_w.shape != (N_INPUT, N_EXC) or start_theta.shape != (N_EXC,):
            sys.exit(f"error: {args.load_weights}: w {start_w.shape}, theta "
                     f"{start_theta.shape}; expected ({N_INPUT}, {N_EXC}) and ({N_EXC},)")
    else:
        start_w = np.random.RandomState(args.seed).uniform(0.0, 0.3, size=(N_INPUT, N_EXC))
        start_theta = np.zeros(N_EXC)
    # Set through i and j, so that nothing depends on the order connect() made the synapses in
    # (Brian2 finds weights_at_start among this function's local names).
    weights_at_start = b2.TimedArray(start_w.T.copy(), dt=1 * second)  # noqa: F841
    plastic.w = "weights_at_start(j * second, i)"
    plastic.depression, plastic.potentiation = NU_PRE, NU_POST
    excitatory.theta = start_theta * mV
    excitatory.theta_plus = THETA_PLUS_MV * mV
    excitatory.theta_decay = 1 / (1e7 * ms)

    to_inhibitory = b2.Synapses(excitatory, inhibitory, on_pre="ge_post += w_ei",
                                name="to_inhibitory")
    to_inhibitory.connect(j="i")
    to_excitatory = b2.Synapses(inhibitory, excitatory, on_pre="gi_post += w_ie",
                                name="to_excitatory")
    to_excitatory.connect(condition="i != j")
    counting = b2.Synapses(excitatory, controller,
                           on_pre="shown_spikes_post += int(t_in_timesteps - slot_start_post "
                                  "< show_steps)", name="counting")
    counting.connect()

    excitatory.v = namespace["v_rest_e"] - 40 * mV
    inhibitory.v = namespace["v_rest_i"] - 40 * mV

    objects = [controller, inputs, excitatory, inhibitory, plastic, to_inhibitory,
               to_excitatory, counting]
    if args.target == "cpp_standalone":
        namespace["normalize_inputs"] = standalone_normalization(b2, plastic)
        controller.run_regularly(decide + "normalized = normalize_inputs(i)\n", dt=slot,
                                 when="start", order=0, name="slot_start_control")
    else:
        controller.run_regularly(decide, dt=slot, when="start", order=0,
                                 name="slot_start_control")
        objects.append(runtime_normalization(b2, plastic, slot))

    spikes = b2.SpikeMonitor(excitatory, name="excitatory_spikes")
    slots = b2.StateMonitor(controller, ["image", "intensity"], record=[0], dt=slot,
                            when="end", name="slots")
    network = b2.Network(*objects, spikes, slots)
    return network, namespace, {"controller": controller, "excitatory": excitatory,
                                "plastic": plastic, "spikes": spikes, "slots": slots}


def runtime_normalization(b2, plastic, slot):
    """numpy / cython targets: scale each excitatory neuron's input weights to sum to W_TOTAL,
    after the controller at each slot's start."""
    post = None

    @b2.network_operation(dt=slot, when="start", order=1, name="normalization")
    def normalize():
        nonlocal post
        if post is None:
            post = np.asarray(plastic.j[:])
        w = plastic.variables["w"].get_value()
        sums = np.bincount(post, weights=w, minlength=N_EXC)
        w *= (W_TOTAL / np.where(sums > 0, sums, W_TOTAL))[post]
    return normalize


def standalone_normalization(b2, plastic):
    """cpp_standalone: the same scaling as a C++ function over the synapses' arrays, called by
    the controller (a network_operation cannot run inside the standalone binary)."""
    weights = b2.device.get_array_name(plastic.variables["w"], access_data=False)
    targets = b2.device.get_array_name(plastic.variables["_synaptic_post"], access_data=False)
    code = f"""
    double normalize_inputs(int)
    {{
        const std::vector<double>::size_type n = brian::{weights}.size();
        double sums[{N_EXC}] = {{0.0}};
        for (std::vector<double>::size_type s = 0; s < n; ++s)
            sums[brian::{targets}[s]] += brian::{weights}[s];
        for (int k = 0; k < {N_EXC}; ++k)
            sums[k] = sums[k] > 0.0 ? {W_TOTAL!r} / sums[k] : 1.0;
        for (std::vector<double>::size_type s = 0; s < n; ++s)
            brian::{weights}[s] *= sums[brian::{targets}[s]];
        return 0.0;
    }}
    """

    @b2.implementation("cpp", code)
    @b2.check_units(unused=1, result=1)
    def normalize_inputs(unused):
        raise NotImplementedError("cpp_standalone only")
    normalize_inputs.stateless = False
    return normalize_inputs


def run_phases(b2, args, network, namespace, parts, phases):
    """Runs the phases; returns {phase: seconds} and the compile (or warm-up) seconds."""
    from brian2 import ms, mV, Hz
    slot = SLOT_STEPS * DT_MS * ms
    standalone = args.target == "cpp_standalone"
    times_file = os.path.join(os.path.abspath(args.build_dir), "w4_phase_seconds.txt")
    seconds = {}
    compile_s = None
    if not standalone:
        started = time.perf_counter()
        network.run(0 * ms, namespace=namespace)          # code generation, cython compiles
        compile_s = time.perf_counter() - started
    controller, excitatory, plastic = (parts[k] for k in ("controller", "excitatory", "plastic"))
    for phase in phases:
        controller.image = phase.first - 1
        controller.image_end = phase.end
        controller.shown_spikes = MIN_SPIKES       # the first slot's decision moves to phase.first
        controller.intensity = START_INTENSITY
        if not phase.plastic:
            plastic.depression, plastic.potentiation = 0.0, 0.0
            excitatory.theta_plus = 0 * mV
            excitatory.theta_decay = 0 * Hz
        started = time.perf_counter()
        network.run(phase.slots * slot, namespace=namespace)
        if standalone:
            b2.device.insert_code(
                "main", f'{{ std::ofstream out("{times_file}", std::ios::app); '
                        f'out << "{phase.name} " << Network::_last_run_time << std::endl; }}')
        else:
            seconds[phase.name] = time.perf_counter() - started
            print(f"[w4] {phase.name}: {phase.slots} slots in {seconds[phase.name]:.1f} s",
                  flush=True)
    if standalone:
        if os.path.exists(times_file):
            os.remove(times_file)
        started = time.perf_counter()
        b2.device.build(directory=args.build_dir, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - started
        b2.device.run(args.build_dir, with_output=False, run_args=[])
        with open(times_file) as lines:
            for line in lines:
                name, value = line.split()
                seconds[name] = float(value)
    return seconds, compile_s


def slot_counts(parts, n_slots):
    """Spike counts [slot, neuron] of the excitatory neurons while each slot's image is shown."""
    step = np.rint(np.asarray(parts["spikes"].t_[:]) / (DT_MS * 1e-3)).astype(np.int64)
    neuron = np.asarray(parts["spikes"].i[:])
    shown = step % SLOT_STEPS < SHOW_STEPS
    counts = np.zeros((n_slots, N_EXC), dtype=np.int32)
    np.add.at(counts, (step[shown] // SLOT_STEPS, neuron[shown]), 1)
    return counts


def summarize(parts, phases, seconds):
    """Per phase: slots, completed images, retries, speed; and each completed showing's
    (image number within the phase, spike counts [400])."""
    n_slots = sum(phase.slots for phase in phases)
    counts = slot_counts(parts, n_slots)
    images = np.asarray(parts["slots"].image[0])[:n_slots]
    intensity = np.asarray(parts["slots"].intensity[0])[:n_slots]
    summary, responses, first_slot = {}, {}, 0
    for phase in phases:
        window = slice(first_slot, first_slot + phase.slots)
        shown = (images[window] >= phase.first) & (images[window] < phase.end)
        total = counts[window].sum(axis=1)
        completed = shown & (total >= MIN_SPIKES)
        done = int(completed.sum())
        summary[phase.name] = {
            "slots": phase.slots,
            "images_requested": phase.end - phase.first,
            "images_completed": done,
            "presentations": int(shown.sum()),
            "retries": int(shown.sum()) - done,
            "max_intensity": float(intensity[window][shown].max()) if shown.any() else None,
            "run_s": seconds[phase.name],
            "slots_per_s": phase.slots / seconds[phase.name],
            "images_per_s": done / seconds[phase.name],
            "excitatory_spikes_per_presentation": float(total[shown].mean()) if shown.any()
            else 0.0,
        }
        responses[phase.name] = (images[window][completed] - phase.first,
                                 counts[window][completed])
        first_slot += phase.slots
    return summary, responses


def accuracy(responses, train_labels, test_labels, n_test):
    """Labels each neuron from the label pass and classifies the test pass's images."""
    label_images, label_counts = responses["label"]
    classes = train_labels[label_images]
    mean_response = np.zeros((10, N_EXC))
    for c in range(10):
        if np.any(classes == c):
            mean_response[c] = label_counts[classes == c].mean(axis=0)
    assigned = mean_response.argmax(axis=0)
    test_images, test_counts = responses["test"]
    scores = np.zeros((len(test_images), 10))
    for c in range(10):
        members = assigned == c
        if members.any():
            scores[:, c] = test_counts[:, members].mean(axis=1)
    correct = int((scores.argmax(axis=1) == test_labels[test_images]).sum())
    return {
        "label_images_answered": int(len(label_images)),
        "test_images_answered": int(len(test_images)),
        "test_images_requested": n_test,
        "accuracy_of_answered": correct / max(1, len(test_images)),
        "accuracy_of_requested": correct / n_test,
        "neurons_per_class": np.bincount(assigned, minlength=10).tolist(),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    args = parse_args()
    started = time.perf_counter()
    b2 = import_brian2()
    set_up_target(b2, args)
    b2.seed(args.seed)
    pixels, train_labels, test_labels, phases = plan(args)
    network, namespace, parts = build_network(b2, args, pixels)
    seconds, compile_s = run_phases(b2, args, network, namespace, parts, phases)
    summary, responses = summarize(parts, phases, seconds)
    record = {
        "workload": "W4", "framework": "brian2", "brian2_version": b2.__version__,
        "numpy_version": np.__version__, "python": sys.version.split()[0],
        "target": args.target, "traces": args.traces, "method": args.method,
        "threads": args.threads if args.target == "cpp_standalone" else 1,
        "seed": args.seed, "argv": sys.argv[1:],
        "compile_s": compile_s, "phases": summary,
        "script_s": time.perf_counter() - started,
        "peak_rss_mb_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        # the largest child: the standalone binary or, when it compiled, the compiler
        "peak_rss_mb_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        "cpu_model": cpu_model(), "logical_cpus": os.cpu_count(),
    }
    if "test" in responses:
        record["accuracy"] = accuracy(responses, train_labels, test_labels, args.n_test)
    if args.save_weights:
        plastic = parts["plastic"]
        w = np.zeros((N_INPUT, N_EXC))
        w[np.asarray(plastic.i[:]), np.asarray(plastic.j[:])] = np.asarray(plastic.w[:])
        np.savez_compressed(args.save_weights, w=w,
                            theta=np.asarray(parts["excitatory"].theta_[:]) * 1e3)
    print(json.dumps(record, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(record, out, indent=1)
            out.write("\n")


if __name__ == "__main__":
    main()
