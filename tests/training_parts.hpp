// What a TrainingStep works on, built from a config the way a training run builds it: the
// network, its optimizer, the activity monitor and the regulators (members in that order, each
// built from the ones before).
#pragma once

#include "homeostasis/homeostasis.hpp"
#include "metrics/activity.hpp"
#include "network/builder.hpp"
#include "train/experiment_config.hpp"
#include "train/optimizer.hpp"

namespace homeostat::testing {

struct TrainingParts {
  explicit TrainingParts(const ExperimentConfig& config)
      : network(build_network<float>(config.layers, network_input_shape(config),
                                     config.data.time_steps, config.seed)),
        optimizer(config.train.optimizer, network.parameters()),
        monitor(network),
        homeostasis(config.homeostasis, network) {}

  Network<float> network;
  Optimizer<float> optimizer;
  ActivityMonitor<float> monitor;
  Homeostasis<float> homeostasis;
};

}  // namespace homeostat::testing
