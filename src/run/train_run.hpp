// A training run with its records: runs/<name>/ with config.toml, metrics.jsonl (epoch and batch
// lines), checkpoint.bin (atomic, every output.checkpoint_every batches and at each epoch end),
// the progress line, alarms and the guard, and report.html at the end. Resuming from a mid-epoch
// checkpoint ends with exactly the metrics of an uninterrupted run (every random draw is keyed by
// seed, epoch and batch; train/trainer.hpp).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "distributed/communicator.hpp"
#include "homeostasis/homeostasis.hpp"
#include "network/network.hpp"
#include "train/experiment_config.hpp"

namespace homeostat {

struct TrainOptions {
  bool resume = false;   // continue from runs/<name>/checkpoint.bin
  bool progress = true;  // show the progress line
  bool quiet = false;    // no per-epoch summary lines on stdout
  // Testing aid: stop (as if killed) after this many training batches in this process; 0: off.
  std::size_t stop_after_batches = 0;
  // The ranks of a data-parallel run (train.shards; null: this process alone). Every rank
  // trains its shards; only rank 0 prints and writes the run directory and its checkpoints.
  Communicator* communicator = nullptr;
};

struct TrainResult {
  std::filesystem::path run_directory;
  std::vector<nlohmann::json> epochs;  // the records written to metrics.jsonl
  double test_accuracy = 0.0;
  bool stopped_early = false;
};

TrainResult train(const ExperimentConfig& config, const TrainOptions& options);

// Loads a checkpoint written by train(): its config and a network holding its parameters.
struct LoadedModel {
  ExperimentConfig config;
  Network<float> network;
  Homeostasis<float> homeostasis;  // constraints attached, threshold scales restored
  nlohmann::json header;
};
LoadedModel load_model(const std::filesystem::path& checkpoint);

}  // namespace homeostat
