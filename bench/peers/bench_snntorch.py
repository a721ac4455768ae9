#!/usr/bin/python3
"""snnTorch on homeostat's workloads W1-W3, written as snnTorch's tutorials write a network.

Every layer is an nn.Linear / nn.Conv2d followed by snntorch.Leaky (W2's hidden layer:
snntorch.RLeaky with a dense 256x256 recurrent weight), called once per time step in a Python
loop over T; the rate code is snntorch.spikegen.rate; the loss is
snntorch.functional.ce_count_loss (cross-entropy on the output spike counts); Adam.

Neuron: Leaky(beta=0.95, threshold=1, reset_mechanism="subtract",
spike_grad=surrogate.fast_sigmoid(slope=25)), snnTorch's defaults otherwise (the reset is
detached from the graph and applied one step late, reset_delay=True).

  /usr/bin/python3 bench/peers/bench_snntorch.py --source /tmp/peers/snntorch --workload w1

snnTorch's source is not part of homeostat: README.md in this folder says where to get it.
"""

import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

VARIANTS = {"default": "one call per layer per time step, as in snnTorch's tutorials"}


def leaky(snn, surrogate):
    return snn.Leaky(beta=common.BETA, threshold=common.THRESHOLD, reset_mechanism="subtract",
                     spike_grad=surrogate.fast_sigmoid(slope=common.SLOPE))


class FeedForward(nn.Module):
    """W1: 784 -> 1000 LIF -> 10 LIF."""

    def __init__(self, snn, surrogate):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(784, 1000), leaky(snn, surrogate)
        self.fc2, self.lif2 = nn.Linear(1000, 10), leaky(snn, surrogate)

    def forward(self, spikes):                      # [T, B, 784] -> output spikes [T, B, 10]
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        out = []
        for x in spikes:
            s1, mem1 = self.lif1(self.fc1(x), mem1)
            s2, mem2 = self.lif2(self.fc2(s1), mem2)
            out.append(s2)
        return torch.stack(out)


class Recurrent(nn.Module):
    """W2: 28 -> 256 recurrent LIF (dense recurrent weight) -> 10 LIF."""

    def __init__(self, snn, surrogate):
        super().__init__()
        self.fc_in = nn.Linear(28, 256)
        self.rlif = snn.RLeaky(beta=common.BETA, threshold=common.THRESHOLD,
                               reset_mechanism="subtract", all_to_all=True, linear_features=256,
                               spike_grad=surrogate.fast_sigmoid(slope=common.SLOPE))
        self.fc_out, self.lif_out = nn.Linear(256, 10), leaky(snn, surrogate)

    def forward(self, rows):                        # [28, B, 28] -> [28, B, 10]
        s1, mem1 = self.rlif.reset_mem()
        mem2 = self.lif_out.reset_mem()
        out = []
        for x in rows:
            s1, mem1 = self.rlif(self.fc_in(x), s1, mem1)
            s2, mem2 = self.lif_out(self.fc_out(s1), mem2)
            out.append(s2)
        return torch.stack(out)


class Convolutional(nn.Module):
    """W3: 12C5-MP2-64C5-MP2-FC10, a LIF layer after each pooling and after the FC."""

    def __init__(self, snn, surrogate):
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 12, 5), leaky(snn, surrogate)
        self.conv2, self.lif2 = nn.Conv2d(12, 64, 5), leaky(snn, surrogate)
        self.fc, self.lif3 = nn.Linear(64 * 4 * 4, 10), leaky(snn, surrogate)

    def forward(self, spikes):                      # [T, B, 1, 28, 28] -> [T, B, 10]
        mem1, mem2, mem3 = (lif.reset_mem() for lif in (self.lif1, self.lif2, self.lif3))
        out = []
        for x in spikes:
            s1, mem1 = self.lif1(F.max_pool2d(self.conv1(x), 2), mem1)
            s2, mem2 = self.lif2(F.max_pool2d(self.conv2(s1), 2), mem2)
            s3, mem3 = self.lif3(self.fc(s2.flatten(1)), mem3)
            out.append(s3)
        return torch.stack(out)


def make_build(snn, spikegen, surrogate, functional):
    def build(workload, variant, encoder):
        steps = workload.steps
        if workload.name == "w2":
            net = Recurrent(snn, surrogate)
            encode = common.row_current
        else:
            if workload.name == "w1":
                net, shape = FeedForward(snn, surrogate), lambda x: x.flatten(1)
            else:
                net, shape = Convolutional(snn, surrogate), lambda x: x.unsqueeze(1)
            if encoder == "common":
                def encode(x):
                    return common.rate_code(shape(x), steps)
            else:
                def encode(x):
                    return spikegen.rate(shape(x), num_steps=steps)
        loss_fn = functional.ce_count_loss()
        optimizer = torch.optim.Adam(net.parameters(), lr=workload.learning_rate)

        def train_step(x, y):
            loss = loss_fn(net(encode(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()

        def predict(x):
            return net(encode(x)).sum(0)

        notes = ("per-step Python loop; snn.Leaky" + ("/RLeaky" if workload.name == "w2" else "")
                 + ", fast_sigmoid(25), subtract reset (detached, delayed); "
                 "loss functional.ce_count_loss; encoder "
                 + ("rows as current" if workload.name == "w2"
                    else "spikegen.rate" if encoder == "framework" else "common.rate_code"))
        return common.Trainer(net, train_step, predict, notes)
    return build


def main():
    args = common.parse_args("snntorch", VARIANTS, __doc__.split("\n\n")[0])
    snn = common.import_peer("snntorch", args.source)
    from snntorch import functional, spikegen, surrogate
    common.run("snntorch", snn, args, make_build(snn, spikegen, surrogate, functional))


if __name__ == "__main__":
    main()
