// `homeostat reproduce sleep` (seed 002, papers.md section 2): sleep ratio in {0, 0.05, 0.1, 0.2,
// 0.3} for the STDP network (experiments/sleep_stdp.toml, local-learning simulator) and for a
// surrogate-gradient recurrent network of similar size (experiments/w2.toml with 200 units and
// the `sleep` regulator) on the same Fashion-MNIST subset, 3 seeds each: accuracy (mean and sd),
// the STDP network's weight-sum trajectory and fraction of weights at their bounds, and a
// one-line verdict against the paper's claim (10-20% sleep helps STDP, does nothing for SG).
#pragma once

#include "studies/reproduce.hpp"

namespace homeostat {

int reproduce_sleep(const ReproduceOptions& options);

}  // namespace homeostat
