// An experiment as the code sees it once read and validated (config/experiment_reader.hpp reads
// it from TOML): data, encoder, layers, regulators, diagnostics, training and output settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/anomaly.hpp"
#include "data/dataset.hpp"
#include "data/encoder.hpp"
#include "data/event_files.hpp"
#include "data/events.hpp"
#include "homeostasis/registry.hpp"
#include "metrics/diagnostics_spec.hpp"
#include "network/layer_spec.hpp"
#include "tensor/blas.hpp"
#include "train/loss.hpp"
#include "train/method.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"

namespace homeostat {

enum class DataSource { idx, anomaly, events };

struct DataSpec {
  DataSource source = DataSource::idx;  // IDX files in `directory`, or the synthetic W5 task
  AnomalySpec anomaly;                  // source = "anomaly": [data.anomaly]
  EventFileSpec event_files;            // source = "events": [data.events] (format, sensor size)
  EventBinning event_binning;           // [data.events] downsample, frame, window_us
  EventAugment augment;                 // [data.augment], training only
  std::filesystem::path directory = kDefaultFashionMnistDir;
  DataView view = DataView::flat;
  std::size_t train_limit = 0;  // 0: all samples
  std::size_t test_limit = 0;
  double validation_fraction = 0.0;
  std::size_t time_steps = 25;
  std::size_t num_classes = 10;
};

struct TrainSpec {
  std::size_t epochs = 1;
  std::size_t batch_size = 128;
  std::size_t eval_batch_size = 256;
  // Each batch split into this many shards, each with its own forward and backward pass, their
  // gradients summed in shard order: the same results on any number of MPI ranks dividing it
  // (train/trainer.hpp). 1: the whole batch at once.
  std::size_t shards = 1;
  LossSpec loss;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  TrainMethod method = TrainMethod::bptt;  // train.method: "bptt" | "rate"
  bool two_pass = false;                   // LTMD's two-pass objective (train/two_pass.hpp)
  double two_pass_weight = 0.5;            // weight of its symmetric KL term
};

struct OutputSpec {
  std::filesystem::path directory = "runs";
  std::size_t checkpoint_every = 100;  // batches; 0: only at the end of each epoch
  double progress_seconds = 2.0;       // progress line interval when not a terminal
};

struct ExperimentConfig {
  std::string name = "run";
  std::uint64_t seed = 1;
  int threads = 0;                                     // 0: all cores
  GemmPrecision gemm_precision = GemmPrecision::fp32;  // "fp32" | "bf16" (tensor/blas.hpp)
  DataSpec data;
  EncoderSpec encoder;
  std::vector<LayerSpec> layers;
  std::vector<RegulatorSpec> homeostasis;  // [[homeostasis]] entries, in order
  DiagnosticsSpec diagnostics;
  TrainSpec train;
  OutputSpec output;
  std::string resolved_toml;  // the config after overrides, as written to runs/<name>/config.toml
};

// Shape of one sample as the data source delivers it ({28, 28} for IDX images; {steps,
// channels} for the anomaly task).
Shape data_sample_shape(const DataSpec& data);
// Per-sample input feature shape the network sees after encoding.
Shape network_input_shape(const ExperimentConfig& config);

}  // namespace homeostat
