#include "plasticity/diehl_cook.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/flush_denormals.hpp"
#include "common/checkpoint.hpp"
#include "metrics/progress.hpp"
#include "plasticity/label_assignment.hpp"

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
  if (header.value("kind", std::string()) != kStateKind ||
      header.value("inputs", std::size_t{0}) != inputs ||
      header.value("excitatory", std::size_t{0}) != exc.size()) {
    throw DataError(path.string() + ": not a diehl_cook network state of " +
                    std::to_string(inputs) + " inputs and " + std::to_string(exc.size()) +
                    " excitatory neurons (header: " + header.dump() + ")");
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

namespace {

std::vector<std::size_t> image_order(std::size_t n, const SimulationConfig& config,
                                     std::size_t epoch) {
  if (config.shuffle) return epoch_order(n, config.seed, epoch);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

// One response record: uint32 spike count per neuron, then the uint32 label.
void write_response(std::ofstream& out, std::span<const std::uint32_t> counts, std::size_t label) {
  out.write(reinterpret_cast<const char*>(counts.data()),
            static_cast<std::streamsize>(counts.size() * sizeof(std::uint32_t)));
  const auto l = static_cast<std::uint32_t>(label);
  out.write(reinterpret_cast<const char*>(&l), sizeof l);
}

}  // namespace

SimulationResult run_diehl_cook(const SimulationConfig& config, const Dataset& train,
                                const Dataset& test, const SimulationOptions& options) {
  const ScopedFlushDenormals flush_denormals;  // common/flush_denormals.hpp
  SimulationResult result;
  const std::size_t n_in = train.sample_size();
  const std::size_t n_exc = config.excitatory_count;
  const std::size_t classes = std::max<std::size_t>(train.num_classes, 2);
  DiehlCookNetwork net(config, n_in);
  if (!config.initial_state.empty()) net.load_state(config.initial_state);
  std::vector<std::uint32_t> counts(n_exc);
  std::ofstream metrics;
  if (options.write_run) {
    result.run_directory = config.output_directory / config.name;
    std::filesystem::create_directories(result.run_directory);
    std::ofstream(result.run_directory / "config.toml", std::ios::trunc) << config.resolved_toml;
    metrics.open(result.run_directory / "metrics.jsonl", std::ios::trunc);
  }
  ProgressLine progress(options.progress, config.progress_seconds);
  const std::size_t train_n = std::min(config.train_images, train.size());
  const std::size_t total_images = train_n * config.epochs;
  const double presentation_s = config.presentation_ms * 1e-3;

  // Running training accuracy: labels from the responses of earlier images (forgetting window of
  // ~2000 images), re-assigned every 250 images, tested on each image before it is learned from.
  LabelAssignment running(classes, n_exc);
  std::size_t running_correct = 0;
  std::size_t running_seen = 0;
  std::size_t window_correct = 0;
  std::size_t window_seen = 0;
  std::size_t window_spikes = 0;
  std::size_t window_presentations = 0;
  std::size_t window_images = 0;
  std::vector<std::uint8_t> window_active(n_exc, 0);
  std::ofstream train_responses;
  if (options.write_run && config.save_responses) {
    train_responses.open(result.run_directory / "train_responses.bin",
                         std::ios::binary | std::ios::trunc);
  }
  net.set_learning(true);
  const auto start = std::chrono::steady_clock::now();
  auto window_start = start;
  std::size_t done = 0;
  for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
    const std::vector<std::size_t> order = image_order(train_n, config, epoch);
    for (const std::size_t index : order) {
      const std::span<const float> pixels(train.samples.data() + index * n_in, n_in);
      const std::size_t used = net.present(pixels, counts);
      result.presentations += used;
      window_presentations += used;
      const auto label = static_cast<std::size_t>(train.labels[index]);
      if (train_responses.is_open()) write_response(train_responses, counts, label);
      if (done >= 500) {
        const bool correct = running.predict(counts) == label;
        running_correct += correct;
        window_correct += correct;
        ++running_seen;
        ++window_seen;
      }
      running.decay(0.9995);
      running.observe(counts, label);
      for (std::size_t j = 0; j < n_exc; ++j) {
        window_spikes += counts[j];
        window_active[j] |= counts[j] > 0;
      }
      ++done;
      ++window_images;
      if (done % 250 == 0) running.assign();
      const bool report = done % 1000 == 0 || done == total_images;
      if (report || options.progress) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double per_image = elapsed / static_cast<double>(done);
        const double acc =
            running_seen ? static_cast<double>(running_correct) / static_cast<double>(running_seen)
                         : 0;
        LayerActivity a;
        a.name = "exc";
        a.rate = static_cast<double>(window_spikes) /
                 (static_cast<double>(n_exc) *
                  static_cast<double>(std::max<std::size_t>(window_presentations, 1)) *
                  static_cast<double>(config.presentation_ms / config.dt));
        progress.update(epoch + 1, config.epochs, done, total_images, 0.0, acc, {a},
                        1e3 * per_image, per_image * static_cast<double>(total_images - done),
                        report);
        if (report) {
          const double window_s =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start)
                  .count();
          const Population& e = net.simulator().population(net.excitatory());
          double theta = 0.0;
          for (const double t : e.theta) theta += t;
          nlohmann::json record;
          record["kind"] = "batch";
          record["phase"] = "train";
          record["epoch"] = epoch + 1;
          record["images"] = done;
          record["images_per_s"] = static_cast<double>(window_images) / window_s;
          record["running_accuracy"] =
              window_seen ? static_cast<double>(window_correct) / static_cast<double>(window_seen)
                          : 0.0;
          record["exc_rate_hz"] = static_cast<double>(window_spikes) /
                                  (static_cast<double>(n_exc) *
                                   static_cast<double>(window_presentations) * presentation_s);
          record["retries"] = window_presentations - window_images;
          record["mean_theta_mv"] = theta / static_cast<double>(n_exc);
          std::size_t active = 0;
          for (std::uint8_t& flag : window_active) {
            active += flag;
            flag = 0;
          }
          record["dead"] = 1.0 - static_cast<double>(active) / static_cast<double>(n_exc);
          record["input_weight_sum"] =
              net.simulator().projection(net.input_projection()).weight_sum();
          if (metrics.is_open()) metrics << record.dump() << '\n' << std::flush;
          window_correct = window_seen = window_spikes = window_presentations = window_images = 0;
          window_start = std::chrono::steady_clock::now();
        }
      }
    }
  }
  progress.finish_line();
  result.train_images = done;
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.train_images_per_second =
      done ? static_cast<double>(done) / result.train_seconds : 0.0;  // 0 when evaluating only
  result.running_train_accuracy =
      running_seen ? static_cast<double>(running_correct) / static_cast<double>(running_seen) : 0.0;

  if (options.write_run && config.save_state) net.save_state(result.run_directory / "network.ckpt");

  // Frozen passes: assign labels, then test. Weights are normalized once (as before every
  // training presentation) and then fixed; every image starts from the trained state at its own
  // step (Poisson draws are keyed by step), so images are independent and run one per thread,
  // with results that do not depend on the thread count.
  net.set_learning(false);
  net.simulator().projection(net.input_projection()).normalize();
  const std::uint64_t first_step = net.simulator().current_step();
  const std::uint64_t stride = net.steps_per_image();
  const auto workers_n = static_cast<std::size_t>(std::max(omp_get_max_threads(), 1));
  std::vector<DiehlCookNetwork> workers(workers_n, net);
  constexpr std::size_t kChunk = 1024;  // images per parallel chunk
  std::vector<std::uint32_t> chunk_counts(kChunk * n_exc);
  std::uint64_t frozen_image = 0;  // across both passes: each image its own steps
  const auto frozen_pass = [&](const Dataset& data, std::size_t n, const auto& consume) {
    if (config.frozen_sequential) {  // Brian2's passes: each image goes on from the last one
      for (std::size_t index = 0; index < n; ++index) {
        const std::span<std::uint32_t> counts_k(chunk_counts.data(), n_exc);
        net.present(std::span<const float>(data.samples.data() + index * n_in, n_in), counts_k);
        consume(index, std::span<const std::uint32_t>(counts_k));
      }
      return;
    }
    for (std::size_t c0 = 0; c0 < n; c0 += kChunk) {
      const std::size_t c1 = std::min(n, c0 + kChunk);
      const auto chunk = static_cast<std::ptrdiff_t>(c1 - c0);
#pragma omp parallel for schedule(dynamic, 8)
      for (std::ptrdiff_t k = 0; k < chunk; ++k) {
        const auto index = c0 + static_cast<std::size_t>(k);
        DiehlCookNetwork& worker = workers[static_cast<std::size_t>(omp_get_thread_num())];
        worker.restart_from(net, first_step + (frozen_image + index) * stride);
        worker.present(std::span<const float>(data.samples.data() + index * n_in, n_in),
                       std::span<std::uint32_t>(
                           chunk_counts.data() + static_cast<std::size_t>(k) * n_exc, n_exc));
      }
      for (std::size_t index = c0; index < c1; ++index)
        consume(index,
                std::span<const std::uint32_t>(chunk_counts.data() + (index - c0) * n_exc, n_exc));
    }
    frozen_image += n;
  };
  LabelAssignment labels(classes, n_exc);
  const std::size_t label_n = std::min(config.label_images, train.size());
  std::ofstream label_responses;
  if (options.write_run && config.save_responses) {
    label_responses.open(result.run_directory / "label_responses.bin",
                         std::ios::binary | std::ios::trunc);
  }
  frozen_pass(train, label_n, [&](std::size_t k, std::span<const std::uint32_t> response) {
    if (config.label_fraction) {
      labels.observe_fraction(response, static_cast<std::size_t>(train.labels[k]));
    } else {
      labels.observe(response, static_cast<std::size_t>(train.labels[k]));
    }
    if (label_responses.is_open())
      write_response(label_responses, response, static_cast<std::size_t>(train.labels[k]));
  });
  labels.assign();
  const std::size_t test_n = std::min(config.test_images, test.size());
  std::size_t correct = 0;
  std::size_t correct_proportion = 0;
  std::ofstream responses;
  if (options.write_run) {
    // Test responses (uint32 counts per image, then the label), for other readouts offline.
    responses.open(result.run_directory / "test_responses.bin", std::ios::binary | std::ios::trunc);
  }
  frozen_pass(test, test_n, [&](std::size_t k, std::span<const std::uint32_t> response) {
    const std::size_t predicted = labels.predict(response);
    result.test_predictions.push_back(predicted);
    const auto label = static_cast<std::size_t>(test.labels[k]);
    correct += predicted == label;
    correct_proportion += labels.predict_proportion(response) == label;
    if (responses.is_open()) write_response(responses, response, label);
  });
  result.test_accuracy_proportion =
      test_n ? static_cast<double>(correct_proportion) / static_cast<double>(test_n) : 0.0;
  result.test_accuracy = test_n ? static_cast<double>(correct) / static_cast<double>(test_n) : 0.0;
  result.neurons_per_class = labels.neurons_per_class();
  result.final_weights = net.simulator().projection(net.input_projection()).weights;
  if (metrics.is_open()) {
    nlohmann::json record;
    record["kind"] = "result";
    record["train_images"] = result.train_images;
    record["train_presentations"] = result.presentations;
    record["train_seconds"] = result.train_seconds;
    record["train_images_per_s"] = result.train_images_per_second;
    record["running_train_accuracy"] = result.running_train_accuracy;
    record["label_images"] = label_n;
    record["test_images"] = test_n;
    record["test_accuracy"] = result.test_accuracy;
    record["test_accuracy_proportion"] = result.test_accuracy_proportion;
    record["neurons_per_class"] = result.neurons_per_class;
    record["label_silent_neurons"] = labels.silent_neurons();
    record["label_silent_neurons"] = labels.silent_neurons();
    metrics << record.dump() << '\n';
  }
  return result;
}

}  // namespace homeostat
