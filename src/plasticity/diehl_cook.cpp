#include "plasticity/diehl_cook.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/checkpoint.hpp"
#include "common/error.hpp"

namespace homeostat {

DiehlCookNetwork::DiehlCookNetwork(const SimulationConfig& config, std::size_t input_size)
    : config_(config),
      sim_(config.dt, config.seed),
      presentation_steps_(
          static_cast<std::size_t>(std::lround(config.presentation_ms / config.dt))),
      frozen_presentation_steps_(static_cast<std::size_t>(
          std::lround((config.frozen_presentation_ms > 0.0 ? config.frozen_presentation_ms
                                                           : config.presentation_ms) /
                      config.dt))),
      rest_steps_(static_cast<std::size_t>(std::lround(config.rest_ms / config.dt))),
      rates_(input_size, 0.0f) {
  input_ = sim_.add_population(Population::poisson("input", input_size));
  exc_ = sim_.add_population(Population("excitatory", config.excitatory_count, config.excitatory));
  ProjectionSpec in = config.input;
  in.pre = input_;
  in.post = exc_;
  input_projection_ = sim_.add_projection(in);
  if (config.competition == CompetitionKind::inhibitory) {
    const std::size_t inh =
        sim_.add_population(Population("inhibitory", config.inhibitory_count, config.inhibitory));
    ProjectionSpec ei;
    ei.name = "excitatory_to_inhibitory";
    ei.pre = exc_;
    ei.post = inh;
    ei.connectivity = Connectivity::one_to_one;
    ei.init_low = ei.init_high = config.excitatory_to_inhibitory;
    sim_.add_projection(ei);
    ProjectionSpec ie;
    ie.name = "inhibitory_to_excitatory";
    ie.pre = inh;
    ie.post = exc_;
    ie.receptor = Receptor::inhibitory;
    ie.exclude_self = true;
    ie.init_low = ie.init_high = config.inhibitory_to_excitatory;
    sim_.add_projection(ie);
  } else {
    ProjectionSpec ee;  // direct lateral inhibition
    ee.name = "lateral_inhibition";
    ee.pre = exc_;
    ee.post = exc_;
    ee.receptor = Receptor::inhibitory;
    ee.exclude_self = true;
    ee.init_low = ee.init_high = config.inhibitory_to_excitatory;
    sim_.add_projection(ee);
  }
}

void DiehlCookNetwork::set_learning(bool on) {
  sim_.plastic = on;
  sim_.adapt_threshold = on;
}

void DiehlCookNetwork::freeze() {
  set_learning(false);
  sim_.projection(input_projection_).normalize();
}

void DiehlCookNetwork::restart_from(const DiehlCookNetwork& trained, std::uint64_t step) {
  sim_.restart_from(trained.sim_, step);
  if (!config_.frozen_from_rest) return;
  for (std::size_t p = 0; p < sim_.population_count(); ++p) sim_.population(p).to_rest();
}

std::uint64_t DiehlCookNetwork::steps_per_image() const {
  return static_cast<std::uint64_t>(
      (config_.max_retries + 1) *
      (std::max(presentation_steps_, frozen_presentation_steps_) + rest_steps_));
}

namespace {
constexpr const char* kStateKind = "diehl_cook";
}

void DiehlCookNetwork::save_state(const std::filesystem::path& path) {
  Projection& input = sim_.projection(input_projection_);
  Population& exc = sim_.population(exc_);
  nlohmann::json header;
  header["kind"] = kStateKind;
  header["inputs"] = sim_.population(input_).size();
  header["excitatory"] = exc.size();
  header["theta_unit"] = "mV";
  // f64: the thetas are double (population.hpp); the float weights convert exactly.
  std::vector<double> weights(input.weights.begin(), input.weights.end());
  write_checkpoint<double>(
      path, header,
      {{"input_weights", std::span<double>(weights)}, {"theta", std::span<double>(exc.theta)}});
}

void DiehlCookNetwork::load_state(const std::filesystem::path& path) {
  const nlohmann::json header = read_checkpoint_header(path);
  const std::size_t inputs = sim_.population(input_).size();
  Population& exc = sim_.population(exc_);
  // Compared as JSON values, so a field of another type is a mismatch, not a type_error. Only the
  // identifying fields are reported: a train checkpoint's header holds a whole config.
  const auto field = [&header](const char* key) {
    return header.is_object() ? header.value(key, nlohmann::json()) : nlohmann::json();
  };
  const nlohmann::json found = {
      {"kind", field("kind")}, {"inputs", field("inputs")}, {"excitatory", field("excitatory")}};
  const nlohmann::json expected = {
      {"kind", std::string(kStateKind)}, {"inputs", inputs}, {"excitatory", exc.size()}};
  if (found != expected) {
    throw DataError(path.string() + ": not a diehl_cook network state of " +
                    std::to_string(inputs) + " inputs and " + std::to_string(exc.size()) +
                    " excitatory neurons (found " + found.dump() +
                    (header.contains("config") ? ", a `train` checkpoint" : "") + ")");
  }
  Projection& input = sim_.projection(input_projection_);
  std::vector<double> weights(input.weights.size());
  read_checkpoint_tensors<double>(path, {{"input_weights", std::span<double>(weights)},
                                         {"theta", std::span<double>(exc.theta)}});
  std::transform(weights.begin(), weights.end(), input.weights.begin(),
                 [](double w) { return static_cast<float>(w); });
}

std::size_t DiehlCookNetwork::present(std::span<const float> pixels,
                                      std::span<std::uint32_t> counts) {
  const std::size_t steps = sim_.plastic ? presentation_steps_ : frozen_presentation_steps_;
  std::size_t attempt = 0;
  for (;; ++attempt) {
    const double white =
        config_.max_rate_hz + static_cast<double>(attempt) * config_.intensity_step_hz;
    for (std::size_t i = 0; i < rates_.size(); ++i)
      rates_[i] = static_cast<float>(pixels[i] * white);
    if (sim_.plastic) sim_.projection(input_projection_).normalize();
    sim_.set_rates(input_, rates_);
    std::fill(counts.begin(), counts.end(), 0u);
    std::size_t total = 0;
    for (std::size_t s = 0; s < steps; ++s) {
      sim_.step();
      for (const std::uint32_t j : sim_.spikes(exc_)) ++counts[j];
      total += sim_.spikes(exc_).size();
    }
    sim_.population(input_).silence();
    if (config_.fast_rest) {
      sim_.run_quiet(rest_steps_);
    } else {
      for (std::size_t s = 0; s < rest_steps_; ++s) sim_.step();
    }
    if (total >= config_.min_spikes || attempt >= config_.max_retries) break;
  }
  return attempt + 1;
}

std::optional<bool> RunningAccuracy::next(std::span<const std::uint32_t> counts,
                                          std::size_t label) {
  std::optional<bool> correct;
  if (images_ >= kWarmup) {
    correct = labels_.predict(counts) == label;
    correct_ += *correct;
    ++tested_;
  }
  labels_.decay(kDecay);
  labels_.observe(counts, label);
  ++images_;
  if (images_ % kReassignEvery == 0) labels_.assign();
  return correct;
}

double RunningAccuracy::accuracy() const {
  return tested_ ? static_cast<double>(correct_) / static_cast<double>(tested_) : 0.0;
}

DiehlCookTraining train_diehl_cook(DiehlCookNetwork& net, const SimulationConfig& config,
                                   const Dataset& train,
                                   const std::function<void(const DiehlCookImage&)>& on_image) {
  const std::size_t n_in = train.sample_size();
  const std::size_t classes = std::max<std::size_t>(train.num_classes, 2);
  const std::size_t train_n = std::min(config.train_images, train.size());
  RunningAccuracy running(classes, net.excitatory_count());
  std::vector<std::uint32_t> counts(net.excitatory_count());
  DiehlCookTraining training;
  net.set_learning(true);
  for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
    for (const std::size_t index : image_order(train_n, config, epoch)) {
      DiehlCookImage image;
      image.epoch = epoch;
      image.presentations =
          net.present(std::span<const float>(train.samples.data() + index * n_in, n_in), counts);
      image.label = static_cast<std::size_t>(train.labels[index]);
      image.counts = counts;
      image.correct = running.next(counts, image.label);
      training.presentations += image.presentations;
      image.done = ++training.images;
      on_image(image);
    }
  }
  training.running_accuracy = running.accuracy();
  return training;
}

namespace {

// Runs the frozen passes on one trained network: visits each image's response in image order.
class FrozenPasses {
 public:
  using Visit = std::function<void(std::size_t index, std::span<const std::uint32_t> counts)>;

  // `net` frozen (DiehlCookNetwork::freeze) and trained: the state every image starts from.
  FrozenPasses(DiehlCookNetwork& net, const SimulationConfig& config);
  // Shows images [0, n) of `data`.
  void run(const Dataset& data, std::size_t n, const Visit& visit);

 private:
  static constexpr std::size_t kChunk = 1024;  // images per parallel chunk

  // Brian2's passes: each image goes on from the last one.
  void run_sequential(const Dataset& data, std::size_t n, const Visit& visit);
  // Each image from the trained state at its own steps, kChunk images at a time in parallel.
  void run_parallel(const Dataset& data, std::size_t n, const Visit& visit);
  [[nodiscard]] std::span<const float> pixels(const Dataset& data, std::size_t index) const;
  std::span<std::uint32_t> chunk_counts(std::size_t k);

  DiehlCookNetwork& net_;
  const SimulationConfig& config_;
  std::size_t inputs_;
  std::size_t excitatory_;
  std::uint64_t first_step_;
  std::uint64_t stride_;  // steps per image
  std::vector<DiehlCookNetwork> workers_;
  std::vector<std::uint32_t> chunk_counts_;
  std::uint64_t frozen_image_ = 0;  // across both passes: each image its own steps
};

FrozenPasses::FrozenPasses(DiehlCookNetwork& net, const SimulationConfig& config)
    : net_(net),
      config_(config),
      inputs_(net.input_size()),
      excitatory_(net.excitatory_count()),
      first_step_(net.simulator().current_step()),
      stride_(net.steps_per_image()),
      workers_(static_cast<std::size_t>(std::max(omp_get_max_threads(), 1)), net),
      chunk_counts_(kChunk * excitatory_) {}

std::span<const float> FrozenPasses::pixels(const Dataset& data, std::size_t index) const {
  return {data.samples.data() + index * inputs_, inputs_};
}

std::span<std::uint32_t> FrozenPasses::chunk_counts(std::size_t k) {
  return {chunk_counts_.data() + k * excitatory_, excitatory_};
}

void FrozenPasses::run(const Dataset& data, std::size_t n, const Visit& visit) {
  if (config_.frozen_sequential) {
    run_sequential(data, n, visit);
    return;
  }
  run_parallel(data, n, visit);
  frozen_image_ += n;
}

void FrozenPasses::run_sequential(const Dataset& data, std::size_t n, const Visit& visit) {
  for (std::size_t index = 0; index < n; ++index) {
    const std::span<std::uint32_t> counts = chunk_counts(0);
    net_.present(pixels(data, index), counts);
    visit(index, counts);
  }
}

void FrozenPasses::run_parallel(const Dataset& data, std::size_t n, const Visit& visit) {
  for (std::size_t c0 = 0; c0 < n; c0 += kChunk) {
    const std::size_t c1 = std::min(n, c0 + kChunk);
    const auto chunk = static_cast<std::ptrdiff_t>(c1 - c0);
#pragma omp parallel for schedule(dynamic, 8)
    for (std::ptrdiff_t k = 0; k < chunk; ++k) {
      const auto index = c0 + static_cast<std::size_t>(k);
      DiehlCookNetwork& worker = workers_[static_cast<std::size_t>(omp_get_thread_num())];
      worker.restart_from(net_, first_step_ + (frozen_image_ + index) * stride_);
      worker.present(pixels(data, index), chunk_counts(static_cast<std::size_t>(k)));
    }
    for (std::size_t index = c0; index < c1; ++index) visit(index, chunk_counts(index - c0));
  }
}

// The label pass: every neuron's class from its responses to the first label_images images.
LabelAssignment assign_labels(FrozenPasses& frozen, const SimulationConfig& config,
                              const Dataset& train, std::size_t neurons,
                              const ResponseSink& responses) {
  LabelAssignment labels(std::max<std::size_t>(train.num_classes, 2), neurons);
  const std::size_t label_n = std::min(config.label_images, train.size());
  frozen.run(train, label_n, [&](std::size_t k, std::span<const std::uint32_t> response) {
    const auto label = static_cast<std::size_t>(train.labels[k]);
    if (config.label_fraction) {
      labels.observe_fraction(response, label);
    } else {
      labels.observe(response, label);
    }
    if (responses) responses(response, label);
  });
  labels.assign();
  return labels;
}

}  // namespace

DiehlCookEvaluation evaluate_diehl_cook(DiehlCookNetwork& net, const SimulationConfig& config,
                                        const Dataset& train, const Dataset& test,
                                        const ResponseSink& label_responses,
                                        const ResponseSink& test_responses) {
  net.freeze();
  FrozenPasses frozen(net, config);
  const LabelAssignment labels =
      assign_labels(frozen, config, train, net.excitatory_count(), label_responses);
  DiehlCookEvaluation evaluation;
  evaluation.label_images = std::min(config.label_images, train.size());
  evaluation.test_images = std::min(config.test_images, test.size());
  std::size_t correct = 0;
  std::size_t correct_proportion = 0;
  frozen.run(test, evaluation.test_images,
             [&](std::size_t k, std::span<const std::uint32_t> response) {
               const std::size_t predicted = labels.predict(response);
               evaluation.test_predictions.push_back(predicted);
               const auto label = static_cast<std::size_t>(test.labels[k]);
               correct += predicted == label;
               correct_proportion += labels.predict_proportion(response) == label;
               if (test_responses) test_responses(response, label);
             });
  const auto share = [&](std::size_t count) {
    return evaluation.test_images
               ? static_cast<double>(count) / static_cast<double>(evaluation.test_images)
               : 0.0;
  };
  evaluation.test_accuracy = share(correct);
  evaluation.test_accuracy_proportion = share(correct_proportion);
  evaluation.neurons_per_class = labels.neurons_per_class();
  evaluation.label_silent_neurons = labels.silent_neurons();
  return evaluation;
}

}  // namespace homeostat
