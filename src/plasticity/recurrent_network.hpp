// Seed 002's network (papers.md section 2): Poisson stimulus -> recurrent excitatory (E) and
// inhibitory (I) current-based LIF populations with membrane noise; S -> E and E -> E learn by
// seed 002's rule dw = eta (x_pre - x_tar)(w_max - w)^mu (stdp_rule.hpp), E -> I and I -> E are
// static. Optional sleep phases (sleep_phase.hpp). After training, frozen passes record spike
// counts of E for a linear readout (linear_readout.hpp): accuracy on the test images.
#pragma once

#include "data/dataset.hpp"
#include "config/simulation_config.hpp"
#include "plasticity/diehl_cook.hpp"

namespace homeostat {

// Average-pools square images by `factor` (28x28 / 2 -> 14x14); pixels stay in [0, 1].
Dataset downsample_images(const Dataset& data, std::size_t factor);

SimulationResult run_recurrent(const SimulationConfig& config, const Dataset& train,
                               const Dataset& test, const SimulationOptions& options);

}  // namespace homeostat
