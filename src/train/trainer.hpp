// The BPTT training step and evaluation: data -> encoder -> network -> loss -> backward ->
// optimizer, one batch at a time. Every random draw is keyed by (seed, epoch, batch), so a run
// resumed from a mid-epoch checkpoint ends with exactly the metrics of an uninterrupted one, and
// results do not depend on the thread count. The run around it (epochs, records, checkpoints) is
// run/train_run.hpp.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "distributed/communicator.hpp"
#include "homeostasis/homeostasis.hpp"
#include "metrics/activity.hpp"
#include "network/network.hpp"
#include "random/counter_rng.hpp"
#include "train/experiment_config.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/rate_pass.hpp"
#include "train/two_pass.hpp"

namespace homeostat {

// Evaluation draws its encoder noise from its own stream, the same every epoch.
inline constexpr std::uint64_t kEvaluationStream = 1ull << 40;

// One training batch: gather + encode, forward, activity, regulators, loss, backward, optimizer
// step. Owns the batch buffers so the batch loop allocates nothing after the first batch. Used
// by train() and bench. The monitor sees every training pass; the regulators act in the order
// of homeostasis.hpp.
//
// train.shards = S > 1 (train/sharded_step.cpp): the batch is split into S fixed shards, each
// with its own forward, loss and backward pass and its gradient from zero, weighted by its share
// of the batch; the gradients, spike counts and loss sums are summed in shard order
// (Communicator::ordered_sum). With N ranks (N divides S), rank r takes shards r S/N ..
// (r+1) S/N - 1: the sum, and so every metric, has the same bits for any N and thread count.
// Loss-channel regulators see each shard's activity; threshold and weight regulators, the monitor
// and the reported penalty see the whole batch's.
class TrainingStep {
 public:
  // ConfigError when the communicator's ranks do not divide train.shards, or a sharded batch
  // meets a network with batch statistics (state buffers such as TEBN's, which each rank would
  // keep apart).
  TrainingStep(const ExperimentConfig& config, Network<float>& network, Optimizer<float>& optimizer,
               ActivityMonitor<float>& monitor, Homeostasis<float>& homeostasis,
               Communicator& communicator = single_process());
  struct Outcome {
    LossResult loss;             // the task loss
    double penalty = 0.0;        // the regulators' loss-channel terms
    double gradient_norm = 0.0;  // before clipping; not finite: no update was applied
  };
  Outcome run(const Dataset& data, std::span<const std::size_t> indices,
              std::span<const std::int32_t> labels, const TrainingClock& clock,
              double learning_rate);
  // train.method = "rate": the rate pass (null for BPTT), for bench and tests.
  [[nodiscard]] const RatePass<float>* rate_pass() const { return rate_.get(); }
  // Bytes of the buffers the last step kept for its backward pass: BPTT the input, every
  // layer's output and output gradient and the membranes ([T, B, ...] each); rate
  // RatePass::backward_buffer_bytes() ([B, ...] each) and the spike pass's chunk workspace
  // ([min(T, 4), B, ...]).
  [[nodiscard]] std::size_t training_buffer_bytes() const;

 private:
  // The same step by rate-based backpropagation (train/rate_step.cpp).
  Outcome run_rate(const Dataset& data, std::span<const std::size_t> indices,
                   std::span<const std::int32_t> labels, const TrainingClock& clock,
                   double learning_rate);
  // Gathers, augments and encodes the batch into input_ [T, B, ...], its draws keyed by
  // (seed, epoch, batch): the same input for a sharded and an unsharded step.
  void encode_training_batch(const Dataset& data, std::span<const std::size_t> indices,
                             const TrainingClock& clock);
  // The same step over train.shards shards (train/sharded_step.cpp).
  Outcome run_sharded(const Dataset& data, std::span<const std::size_t> indices,
                      std::span<const std::int32_t> labels, const TrainingClock& clock,
                      double learning_rate);
  // Forward, loss and backward of one shard; fills its gradient and statistics parts.
  void run_shard(std::size_t shard, std::size_t begin, std::size_t end,
                 std::span<const std::int32_t> labels, const TrainingClock& clock,
                 std::vector<float>& gradient, std::vector<double>& statistics);

  const ExperimentConfig& config_;
  Network<float>& network_;
  Optimizer<float>& optimizer_;
  ActivityMonitor<float>& monitor_;
  Homeostasis<float>& homeostasis_;
  Shape features_;
  std::vector<float> scratch_;
  Tensor<float> input_;
  Tensor<float> grad_output_;
  std::unique_ptr<RatePass<float>> rate_;
  Tensor<float> stacked_;  // train.two_pass: the batch twice
  TwoPassObjective<float> two_pass_;
  Communicator& communicator_;
  // train.shards > 1: one shard's input and activity, and this rank's parts of the sums.
  Tensor<float> shard_input_;
  std::unique_ptr<ActivityMonitor<float>> shard_monitor_;
  std::vector<std::vector<float>> shard_gradients_;
  std::vector<std::vector<double>> shard_statistics_;
  std::vector<float> gradient_total_;
  std::vector<double> statistics_total_;
};

// [begin, end) of shard `shard` of `shards` in a batch of `samples`: near-equal shares, the first
// samples % shards shards one sample larger.
std::pair<std::size_t, std::size_t> shard_range(std::size_t samples, std::size_t shards,
                                                std::size_t shard);

// The samples of `split` ("train" | "test") from the config's data source, the first `limit`
// (0: all). DataError for missing or malformed files, or IDX images that are not 28x28.
// Gathers and encodes the samples at `indices` into input [T, B, features...], as training and
// evaluation see them. Event data is binned into T frames first, augmented when `augment_rng` is
// given (training batches).
void encode_batch(const ExperimentConfig& config, const Dataset& data,
                  std::span<const std::size_t> indices, const CounterRng& rng,
                  const Shape& feature_shape, std::vector<float>& scratch, Tensor<float>& input,
                  const CounterRng* augment_rng = nullptr);

Dataset load_data_split(const ExperimentConfig& config, std::string_view split,
                        std::size_t limit = 0);

// DataError, naming `source`, unless `data` fits the network `config` describes: samples of the
// shape the network was built for (data_sample_shape; for event data the binned frame) and
// labels below data.classes. Every path where data meets a network goes through it.
void check_data_fits(const Dataset& data, const ExperimentConfig& config,
                     const std::string& source);

struct EvaluationResult {
  double accuracy = 0.0;
  double loss = 0.0;
  std::size_t samples = 0;
  std::vector<LayerActivity> activity;
  std::vector<std::size_t> confusion;  // [true class][predicted class], classes x classes
  double synops_per_sample = 0.0;      // metrics/synops.hpp
  double information_bits = 0.0;       // I(prediction; label) from the confusion matrix
  double synaptic_efficiency = 0.0;    // bits per million synops
};

// Evaluates `network` (training = false) on `data` with the config's encoder and loss; DataError
// when the data does not fit it (check_data_fits).
EvaluationResult evaluate(Network<float>& network, const ExperimentConfig& config,
                          const Dataset& data);

}  // namespace homeostat
