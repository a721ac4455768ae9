#!/usr/bin/python3
"""PyTorch oracle for homeostat's surrogate-gradient BPTT (tests/torch_oracle_test.cpp).

Usage: torch_oracle.py CASES.json RESULTS.json

CASES.json holds {"cases": [case, ...]}; each case describes a network (its layers with every
hyper-parameter and every parameter tensor by name), an input [T, B, features...], labels and a
loss. This script rebuilds each network in PyTorch, in float64, with an explicit loop over time
and autograd doing the backward pass, and writes {"cases": {name: result}} with the loss, the
gradient of every parameter by name, and the spike count of every spiking layer. A loss with
"two_pass" runs the input stacked twice along the batch and scores LTMD's two-pass objective.

The neuron model is written from the equations in the header comment of src/neuron/lif.hpp and
the surrogate shapes from src/neuron/surrogate.hpp; nothing of homeostat is imported or called.
  a_t     = rho a_{t-1} + (1 - rho) z_{t-1}                          (ALIF only, else 0)
  theta_t = s (theta0_j + beta_a a_t)
  v_t     = beta_j v_{t-1} + I_t - theta_{t-1} z_{t-1}               reset "subtract"
          = beta_j v_{t-1} (1 - z_{t-1}) + I_t                       reset "zero"
          = beta_j v_{t-1} + I_t                                     reset "none"
  m_t     = 1 unless a spike at one of the previous R steps          (refractory period R);
            I_t <- m_t I_t (a refractory neuron ignores its input)
  z_t     = m_t H(v_t - theta_t)     (backward: the surrogate instead of H')
with z_{-1} = v_{-1} = a_{-1} = 0; detach_reset cuts the reset term's dependence on z_{t-1}
(torch's .detach()), keeping its dependence on theta. theta0 = tanh(w), beta = sigmoid(w) when
learnable (one w per layer or per neuron).
The cuba_lif model (src/neuron/cuba_lif.hpp) puts a synapse before that membrane: with x_t the
layer's input and i_{-1} = 0,
  i_t = alpha i_{t-1} + x_t,   I_t = i_t   (alpha = its "synaptic_decay"; the refractory mask
                                            applies to I_t, the synapse keeps integrating)

Exit status: 0 on success, 3 when torch cannot be imported, 1 on any other error.
"""

import json
import math
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:  # pragma: no cover - environment problem, reported by the C++ test
    sys.stderr.write(
        "torch_oracle.py: cannot import torch (%s); run scripts/setup.sh to install "
        "python3-torch\n" % error
    )
    sys.exit(3)

DTYPE = torch.float64


# --------------------------------------------------------------------------------------------
# Surrogate spike functions: forward H(x) = 1[x > 0], backward the surrogate derivative.


def surrogate_derivative(kind, x, gamma, beta, q):
    if kind == "fast_sigmoid":
        return gamma / (1.0 + 2.0 * (beta * x).abs()) ** 2
    if kind == "q_tail":
        return gamma / (1.0 + 2.0 * (beta * x).abs() / (q - 1.0)) ** q
    if kind == "sigmoid":
        s = torch.sigmoid(4.0 * beta * x)
        return 4.0 * gamma * s * (1.0 - s)
    if kind == "arctan":
        return gamma / (1.0 + (math.pi * beta * x) ** 2)
    if kind == "triangular":
        return gamma * torch.clamp(1.0 - (beta * x).abs(), min=0.0)
    if kind == "exponential":
        return gamma * torch.exp(-2.0 * (beta * x).abs())
    if kind == "gaussian":
        return gamma * torch.exp(-math.pi * (beta * x) ** 2)
    if kind == "rectangular":
        return gamma * ((2.0 * beta * x).abs() < 1.0).to(x.dtype)
    raise ValueError("unknown surrogate kind %r" % kind)


class HeavisideSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kind, gamma, beta, q):
        ctx.save_for_backward(x)
        ctx.shape = (kind, gamma, beta, q)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        kind, gamma, beta, q = ctx.shape
        return grad_output * surrogate_derivative(kind, x, gamma, beta, q), None, None, None, None


def make_spike_function(surrogate):
    kind = surrogate["kind"]
    gamma = float(surrogate["dampening"])
    beta = float(surrogate["sharpness"])
    q = float(surrogate.get("tail", 2.0))
    if surrogate.get("smooth_forward", False):
        raise ValueError("the oracle checks Heaviside forward passes only")
    return lambda x: HeavisideSurrogate.apply(x, kind, gamma, beta, q)


# --------------------------------------------------------------------------------------------
# Parameters


class ParameterStore:
    """The case's parameter tensors as leaf tensors requiring gradients; tracks which are used."""

    def __init__(self, described):
        self.tensors = {}
        for name, entry in described.items():
            values = torch.tensor(entry["values"], dtype=DTYPE)
            self.tensors[name] = values.reshape(entry["shape"]).clone().requires_grad_(True)
        self.used = set()

    def get(self, name):
        if name not in self.tensors:
            raise KeyError("parameter %r is missing from the case file" % name)
        self.used.add(name)
        return self.tensors[name]

    def check_all_used(self):
        unused = sorted(set(self.tensors) - self.used)
        if unused:
            raise ValueError("parameters the oracle does not know how to use: %s" % unused)


# --------------------------------------------------------------------------------------------
# Neurons


def neuron_constants(name, spec, neurons, params):
    """Per-neuron theta0 and beta, as differentiable functions of the learnable parameters."""

    def per_neuron(learn, param_name, transform, fixed):
        if learn == "none":
            return torch.full((neurons,), float(fixed), dtype=DTYPE)
        w = params.get(param_name)
        expected = neurons if learn == "neuron" else 1
        if w.numel() != expected:
            raise ValueError("%s has %d entries, expected %d" % (param_name, w.numel(), expected))
        return transform(w).reshape(-1).expand(neurons)

    theta0 = per_neuron(spec["learn_threshold"], name + ".threshold", torch.tanh, spec["threshold"])
    beta = per_neuron(spec["learn_decay"], name + ".decay", torch.sigmoid, spec["decay"])
    return theta0, beta


class NeuronState:
    """Runs one population of LIF/ALIF (or cuba_lif) neurons step by step; inputs are [B, N]."""

    def __init__(self, name, spec, neurons, params):
        self.spec = spec
        self.theta0, self.beta = neuron_constants(name, spec, neurons, params)
        self.scale = float(spec.get("threshold_scale", 1.0))
        self.rho = float(spec["adaptation_decay"])
        self.beta_a = float(spec["adaptation_strength"])
        self.adaptive = bool(spec["adaptive"])
        self.reset = spec["reset"]
        self.detach_reset = bool(spec["detach_reset"])
        self.refractory = int(spec["refractory_steps"])
        self.spike = make_spike_function(spec["surrogate"])
        if self.reset not in ("subtract", "zero", "none"):
            raise ValueError("unknown reset mode %r" % self.reset)
        self.model = spec.get("model", "lif")
        if self.model not in ("lif", "cuba_lif"):
            raise ValueError("unknown neuron model %r" % self.model)
        self.alpha = float(spec.get("parameters", {}).get("synaptic_decay", 0.9))
        self.i = None  # i_{t-1}, cuba_lif only
        self.v = None  # v_{t-1}
        self.z = None  # z_{t-1}
        self.a = None  # a_{t-1}
        self.history = []  # detached z of previous steps, for the refractory mask

    def threshold(self, a):
        return self.scale * (self.theta0 + self.beta_a * a)

    def step(self, current):
        if self.v is None:
            zeros = torch.zeros_like(current)
            self.v, self.z, self.a = zeros, zeros, zeros
        v_prev, z_prev, a_prev = self.v, self.z, self.a
        if self.adaptive:
            a = self.rho * a_prev + (1.0 - self.rho) * z_prev
        else:
            a = torch.zeros_like(current)
        theta = self.threshold(a)
        if self.model == "cuba_lif":
            self.i = current if self.i is None else self.alpha * self.i + current
            current = self.i
        z_reset = z_prev.detach() if self.detach_reset else z_prev
        open_mask = None
        if self.refractory > 0:
            # a refractory neuron ignores its input and cannot fire
            open_mask = torch.ones_like(current)
            for previous in self.history[-self.refractory:]:
                open_mask = open_mask * (1.0 - previous)
            current = open_mask * current
        if self.reset == "subtract":
            v = self.beta * v_prev + current - self.threshold(a_prev) * z_reset
        elif self.reset == "zero":
            v = self.beta * v_prev * (1.0 - z_reset) + current
        else:
            v = self.beta * v_prev + current
        z = self.spike(v - theta)
        if open_mask is not None:
            z = open_mask * z
            self.history.append(z.detach())
        self.v, self.z, self.a = v, z, a
        return z


# --------------------------------------------------------------------------------------------
# Layers: each maps a [T, B, features...] tensor to [T, B, features...].


def dense_layer(layer, x, params, stats):
    steps, batch = x.shape[0], x.shape[1]
    flat = x.reshape(steps, batch, -1)
    if flat.shape[2] != layer["in_features"]:
        raise ValueError("%s: input has %d features" % (layer["name"], flat.shape[2]))
    weight = params.get(layer["name"] + ".weight")
    bias = params.get(layer["name"] + ".bias") if layer["bias"] else None
    return F.linear(flat, weight, bias)


def lif_layer(layer, x, params, stats):
    steps, batch = x.shape[0], x.shape[1]
    features = x.shape[2:]
    flat = x.reshape(steps, batch, -1)
    neurons = flat.shape[2]
    state = NeuronState(layer["name"], layer["neuron"], neurons, params)
    out = torch.stack([state.step(flat[t]) for t in range(steps)])
    stats[layer["name"]] = int(out.detach().sum().item())
    return out.reshape(steps, batch, *features)


def recurrent_layer(layer, x, params, stats):
    steps, batch = x.shape[0], x.shape[1]
    name = layer["name"]
    units = layer["units"]
    flat = x.reshape(steps, batch, -1)
    w_in = params.get(name + ".input_weight")
    bias = params.get(name + ".bias")
    w_rec = params.get(name + ".recurrent_weight")
    if layer["zero_diagonal"]:
        w_rec = w_rec * (1.0 - torch.eye(units, dtype=DTYPE))
    state = NeuronState(name, layer["neuron"], units, params)
    outputs = []
    z_prev = torch.zeros(batch, units, dtype=DTYPE)
    for t in range(steps):
        current = F.linear(flat[t], w_in, bias) + F.linear(z_prev, w_rec)
        z_prev = state.step(current)
        outputs.append(z_prev)
    out = torch.stack(outputs)
    stats[name] = int(out.detach().sum().item())
    return out


def readout_layer(layer, x, params, stats):
    decay = float(layer["decay"])
    v = torch.zeros_like(x[0])
    outputs = []
    for t in range(x.shape[0]):
        v = decay * v + x[t]
        outputs.append(v)
    return torch.stack(outputs)


def conv2d_layer(layer, x, params, stats):
    steps, batch = x.shape[0], x.shape[1]
    channels, height, width = layer["input_shape"]
    images = x.reshape(steps * batch, channels, height, width)
    weight = params.get(layer["name"] + ".weight")
    bias = params.get(layer["name"] + ".bias") if layer["bias"] else None
    y = F.conv2d(images, weight, bias, stride=layer["stride"], padding=layer["padding"])
    return y.reshape(steps, batch, *y.shape[1:])


def pool2d_layer(layer, x, params, stats):
    steps, batch = x.shape[0], x.shape[1]
    channels, height, width = layer["input_shape"]
    images = x.reshape(steps * batch, channels, height, width)
    if layer["pool"] == "max":
        y = F.max_pool2d(images, layer["size"], layer["stride"])
    elif layer["pool"] == "average":
        y = F.avg_pool2d(images, layer["size"], layer["stride"])
    else:
        raise ValueError("unknown pooling %r" % layer["pool"])
    return y.reshape(steps, batch, *y.shape[1:])


def moderate_dropout_layer(layer, x, params, stats):
    """LTMD's moderate dropout (papers.md 5b) with the C++ side's Bernoulli draws: keep[e] tells
    which of the B * F elements the uniforms kept; q is recomputed here from the rates of x and
    treated as a constant (detached), as homeostat does."""
    steps, batch = x.shape[0], x.shape[1]
    flat = x.reshape(steps, batch, -1)
    r = float(layer["drop_rate"])
    d = flat.detach().mean(dim=0)
    span = d.max() - d.min()
    p = (d - d.min()) / span if span > 0 else torch.zeros_like(d)
    q = torch.clamp(1.0 - (1.0 - p) * r / (1.0 - p.mean()), 0.0, 1.0)
    keep = torch.tensor(layer["keep"], dtype=DTYPE).reshape(d.shape)
    mask = keep / torch.where(q > 0, q, torch.ones_like(q))
    stats[layer["name"] + ".kept"] = int(keep.sum().item())
    return (flat * mask.unsqueeze(0)).reshape(x.shape)


LAYERS = {
    "moderate_dropout": moderate_dropout_layer,
    "dense": dense_layer,
    "lif": lif_layer,
    "recurrent": recurrent_layer,
    "readout": readout_layer,
    "conv2d": conv2d_layer,
    "pool2d": pool2d_layer,
}


# --------------------------------------------------------------------------------------------
# Losses on the output [T, B, C], batch means.


def compute_loss(spec, output, labels):
    steps = output.shape[0]
    kind = spec["kind"]
    if kind == "ce_count":
        return F.cross_entropy(output.sum(dim=0), labels)
    if kind == "ce_mean_membrane":
        return F.cross_entropy(output.mean(dim=0), labels)
    if kind == "ce_max_membrane":
        return F.cross_entropy(output.max(dim=0).values, labels)
    if kind == "mse_count":
        counts = output.sum(dim=0)
        on = float(spec["on_rate"]) * steps
        off = float(spec["off_rate"]) * steps
        target = torch.full_like(counts, off)
        target[torch.arange(counts.shape[0]), labels] = on
        return ((counts - target) ** 2).mean()
    raise ValueError("unknown loss %r" % kind)


def symmetric_kl(z1, z2):
    """LTMD's kl_div_p12 (trialnew.py): each KL averaged over the B * C elements."""
    kl_12 = F.kl_div(F.log_softmax(z1, dim=-1), F.softmax(z2, dim=-1), reduction="none").mean()
    kl_21 = F.kl_div(F.log_softmax(z2, dim=-1), F.softmax(z1, dim=-1), reduction="none").mean()
    return (kl_12 + kl_21) / 2.0


def loss_logits(spec, output):
    kind = spec["kind"]
    if kind == "ce_mean_membrane":
        return output.mean(dim=0)
    if kind == "ce_max_membrane":
        return output.max(dim=0).values
    return output.sum(dim=0)


def two_pass_loss(spec, output, labels):
    """LTMD's objective on the output of the stacked batch [T, 2B, C]:
    0.5 (L(y1) + L(y2)) + w * symmetric KL of the two passes' logits."""
    batch = labels.shape[0]
    y1, y2 = output[:, :batch], output[:, batch:]
    task = 0.5 * (compute_loss(spec, y1, labels) + compute_loss(spec, y2, labels))
    weight = float(spec["two_pass_weight"])
    return task + weight * symmetric_kl(loss_logits(spec, y1), loss_logits(spec, y2))


def run_case(case):
    params = ParameterStore(case["parameters"])
    x = torch.tensor(case["input"]["values"], dtype=DTYPE).reshape(case["input"]["shape"])
    if case["loss"].get("two_pass", False):  # both passes in one: the batch stacked twice
        x = torch.cat((x, x), dim=1)
    labels = torch.tensor(case["labels"], dtype=torch.long)
    stats = {}
    for layer in case["layers"]:
        if layer["kind"] not in LAYERS:
            raise ValueError("unknown layer kind %r" % layer["kind"])
        x = LAYERS[layer["kind"]](layer, x, params, stats)
    params.check_all_used()
    output = x.reshape(x.shape[0], x.shape[1], -1)
    if case["loss"].get("two_pass", False):
        loss = two_pass_loss(case["loss"], output, labels)
    else:
        loss = compute_loss(case["loss"], output, labels)
    loss.backward()
    gradients = {}
    for name, tensor in params.tensors.items():
        grad = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
        gradients[name] = grad.reshape(-1).tolist()
    return {"loss": loss.item(), "gradients": gradients, "spike_counts": stats}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: torch_oracle.py CASES.json RESULTS.json\n")
        return 2
    torch.set_num_threads(1)
    with open(argv[1]) as handle:
        cases = json.load(handle)["cases"]
    results = {}
    for case in cases:
        try:
            results[case["name"]] = run_case(case)
        except Exception as error:  # reported per case by the C++ test
            results[case["name"]] = {"error": "%s: %s" % (type(error).__name__, error)}
    with open(argv[2], "w") as handle:
        json.dump({"torch_version": torch.__version__, "cases": results}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
