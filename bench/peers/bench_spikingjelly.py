#!/usr/bin/python3
"""SpikingJelly (activation_based API) on homeostat's workloads W1-W3.

Layers come from spikingjelly.activation_based.layer and neuron.LIFNode with the "torch"
back-end (its CuPy and Triton back-ends need CUDA), the rate code from encoding.PoissonEncoder,
and functional.reset_net clears the neuron state after every batch; the loss is cross-entropy on
the output spike counts; Adam.

Neuron: LIFNode(tau=20, decay_input=False, v_reset=None, v_threshold=1, detach_reset=True), so
v[t] = (1 - 1/20) v[t-1] + I[t] = 0.95 v[t-1] + I[t] with a soft (subtracting) reset kept out of
the graph. Surrogate: surrogate.SoftSign(alpha=25), whose derivative
alpha / (2 (1 + alpha |x|)^2) has the shape of snnTorch's fast_sigmoid(slope=25),
1 / (1 + 25 |x|)^2, at 12.5 times its height (SpikingJelly has no scale parameter for it; the
cost per step is the same).

  /usr/bin/python3 bench/peers/bench_spikingjelly.py --source /tmp/peers/spikingjelly \\
      --workload w1 --variant single

SpikingJelly's source is not part of homeostat: README.md in this folder says where to get it.
"""

import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

VARIANTS = {
    "default": "multi-step mode: each stateless layer runs once over all T*B, each LIF layer "
               "over its whole sequence (W2: the recurrent layer step by step, the input and "
               "readout layers multi-step)",
    "single": "single-step mode: the whole network called once per time step in a Python loop",
    "container": "W2 only: the recurrent layer as layer.LinearRecurrentContainer (one "
                 "Linear(512->256) on [input current, previous spikes])",
}


def make_build(neuron, surrogate, layer, functional, encoding):
    def lif(step_mode):
        return neuron.LIFNode(tau=1.0 / (1.0 - common.BETA), decay_input=False,
                              v_threshold=common.THRESHOLD, v_reset=None,
                              surrogate_function=surrogate.SoftSign(alpha=common.SLOPE),
                              detach_reset=True, step_mode=step_mode, backend="torch")

    class Recurrent(nn.Module):
        """W2: 28 -> 256 recurrent LIF -> 10 LIF over rows [28, B, 28]."""

        def __init__(self, variant):
            super().__init__()
            self.variant = variant
            readout_mode = "s" if variant == "single" else "m"
            self.fc_in = layer.Linear(28, 256, step_mode=readout_mode)
            if variant == "container":
                self.hidden = layer.LinearRecurrentContainer(lif("s"), in_features=256,
                                                             out_features=256, step_mode="s")
            else:
                self.fc_rec, self.hidden = nn.Linear(256, 256), lif("s")
            self.fc_out = layer.Linear(256, 10, step_mode=readout_mode)
            self.lif_out = lif(readout_mode)

        def step(self, current, spikes):
            if self.variant == "container":
                return self.hidden(current)
            return self.hidden(current if spikes is None else current + self.fc_rec(spikes))

        def forward(self, rows):
            spikes, out = None, []
            if self.variant == "single":
                for x in rows:
                    spikes = self.step(self.fc_in(x), spikes)
                    out.append(self.lif_out(self.fc_out(spikes)))
                return torch.stack(out)
            currents = self.fc_in(rows)                 # [T, B, 256], all steps at once
            for current in currents:
                spikes = self.step(current, spikes)
                out.append(spikes)
            return self.lif_out(self.fc_out(torch.stack(out)))

    def build(workload, variant, encoder):
        steps = workload.steps
        if workload.name == "w2":
            net = Recurrent(variant)

            def counts(x):
                return net(common.row_current(x)).sum(0)
            notes = f"W2 {variant}: recurrent LIFNode('s') step by step"
        else:
            if workload.name == "w1":
                net = nn.Sequential(layer.Linear(784, 1000), lif("m"),
                                    layer.Linear(1000, 10), lif("m"))
                shape = lambda x: x.flatten(1)          # noqa: E731
            else:
                net = nn.Sequential(layer.Conv2d(1, 12, 5), layer.MaxPool2d(2), lif("m"),
                                    layer.Conv2d(12, 64, 5), layer.MaxPool2d(2), lif("m"),
                                    layer.Flatten(), layer.Linear(64 * 4 * 4, 10), lif("m"))
                shape = lambda x: x.unsqueeze(1)        # noqa: E731
            poisson = encoding.PoissonEncoder(step_mode="s" if variant == "single" else "m")
            if variant == "single":
                functional.set_step_mode(net, "s")

                def counts(x):
                    image = shape(x)
                    drawn = common.rate_code(image, steps) if encoder == "common" else None
                    total = 0.0
                    for t in range(steps):
                        total = total + net(poisson(image) if drawn is None else drawn[t])
                    return total
            else:
                functional.set_step_mode(net, "m")

                def counts(x):
                    image = shape(x)
                    if encoder == "common":
                        return net(common.rate_code(image, steps)).sum(0)
                    repeated = image.unsqueeze(0).expand(steps, *image.shape)
                    return net(poisson(repeated)).sum(0)
            mode = "single-step, Python loop over T" if variant == "single" else "multi-step"
            source = "PoissonEncoder" if encoder == "framework" else "common.rate_code"
            notes = f"{mode}; encoder {source}"
        notes = "LIFNode torch back-end, SoftSign(25), detached soft reset; loss CE on counts; " \
                + notes
        optimizer = torch.optim.Adam(net.parameters(), lr=workload.learning_rate)

        def train_step(x, y):
            loss = F.cross_entropy(counts(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
            return loss.item()

        def predict(x):
            scores = counts(x)
            functional.reset_net(net)
            return scores

        return common.Trainer(net, train_step, predict, notes)
    return build


def main():
    args = common.parse_args("spikingjelly", VARIANTS, __doc__.split("\n\n")[0])
    if args.variant == "container" and args.workload not in ("w2", "none"):
        common.fail("--variant container applies to w2 only")
    sj = common.import_peer("spikingjelly", args.source)
    from spikingjelly.activation_based import encoding, functional, layer, neuron, surrogate
    common.run("spikingjelly", sj, args,
               make_build(neuron, surrogate, layer, functional, encoding))


if __name__ == "__main__":
    main()
