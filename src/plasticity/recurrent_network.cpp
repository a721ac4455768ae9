#include "plasticity/recurrent_network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/flush_denormals.hpp"
#include "metrics/progress.hpp"
#include "plasticity/linear_readout.hpp"
#include "plasticity/sleep_phase.hpp"

namespace homeostat {

Dataset downsample_images(const Dataset& data, std::size_t factor) {
  if (factor <= 1 || data.sample_shape.size() != 2) return data;
  const std::size_t h = data.sample_shape[0], w = data.sample_shape[1];
  const std::size_t oh = h / factor, ow = w / factor;
  Dataset out;
  out.sample_shape = {oh, ow};
  out.labels = data.labels;
  out.num_classes = data.num_classes;
  out.samples.assign(data.size() * oh * ow, 0.0f);
  const auto area = static_cast<float>(factor * factor);
  for (std::size_t s = 0; s < data.size(); ++s) {
    const float* in = data.samples.data() + s * h * w;
    float* o = out.samples.data() + s * oh * ow;
    for (std::size_t y = 0; y < oh * factor; ++y)
      for (std::size_t x = 0; x < ow * factor; ++x)
        o[(y / factor) * ow + x / factor] += in[y * w + x];
    for (std::size_t k = 0; k < oh * ow; ++k) o[k] /= area;
  }
  return out;
}

namespace {

double fraction_at_bounds(const std::vector<float>& w, const StdpParams& p) {
  std::size_t at = 0;
  const double tolerance = 1e-6 * std::max(1.0, std::fabs(p.w_max - p.w_min));
  for (const float x : w) at += (x <= p.w_min + tolerance) || (x >= p.w_max - tolerance);
  return w.empty() ? 0.0 : static_cast<double>(at) / static_cast<double>(w.size());
}

}  // namespace

SimulationResult run_recurrent(const SimulationConfig& config, const Dataset& train_full,
                               const Dataset& test_full, const SimulationOptions& options) {
  const ScopedFlushDenormals flush_denormals;  // common/flush_denormals.hpp
  SimulationResult result;
  const Dataset train = downsample_images(train_full, config.downsample);
  const Dataset test = downsample_images(test_full, config.downsample);
  const std::size_t n_in = train.sample_size();
  const std::size_t n_e = config.excitatory_count;
  const std::size_t classes = std::max<std::size_t>(train.num_classes, 2);

  Simulator sim(config.dt, config.seed);
  const std::size_t stim = sim.add_population(Population::poisson("stimulus", n_in));
  const std::size_t exc = sim.add_population(Population("excitatory", n_e, config.excitatory));
  const std::size_t inh =
      sim.add_population(Population("inhibitory", config.inhibitory_count, config.inhibitory));
  ProjectionSpec se = config.input;
  se.pre = stim;
  se.post = exc;
  const std::size_t p_se = sim.add_projection(se);
  ProjectionSpec ee = config.recurrent_ee;
  ee.pre = exc;
  ee.post = exc;
  ee.exclude_self = true;
  ee.stdp = config.input.stdp;
  const std::size_t p_ee = sim.add_projection(ee);
  ProjectionSpec ei = config.recurrent_ei;
  ei.pre = exc;
  ei.post = inh;
  sim.add_projection(ei);
  ProjectionSpec ie = config.recurrent_ie;
  ie.pre = inh;
  ie.post = exc;
  ie.receptor = Receptor::inhibitory;
  sim.add_projection(ie);

  SleepPhase sleep(config.sleep, config.sleep_noise_mv, {p_se, p_ee}, {stim}, {exc, inh}, sim);
  const auto steps_per_image =
      static_cast<std::size_t>(std::lround(config.presentation_ms / config.dt));
  const auto rest_steps = static_cast<std::size_t>(std::lround(config.rest_ms / config.dt));

  std::ofstream metrics;
  if (options.write_run) {
    result.run_directory = config.output_directory / config.name;
    std::filesystem::create_directories(result.run_directory);
    std::ofstream(result.run_directory / "config.toml", std::ios::trunc) << config.resolved_toml;
    metrics.open(result.run_directory / "metrics.jsonl", std::ios::trunc);
  }
  std::vector<float> rates(n_in);
  std::vector<double> counts(n_e);
  const auto present = [&](const float* pixels) {
    for (std::size_t i = 0; i < n_in; ++i)
      rates[i] = static_cast<float>(pixels[i] * config.max_rate_hz);
    sim.set_rates(stim, rates);
    std::fill(counts.begin(), counts.end(), 0.0);
    for (std::size_t s = 0; s < steps_per_image; ++s) {
      sim.step();
      for (const std::uint32_t j : sim.spikes(exc)) counts[j] += 1.0;
    }
    sim.population(stim).silence();
    for (std::size_t s = 0; s < rest_steps; ++s) sim.step();
  };

  ProgressLine progress(options.progress, config.progress_seconds);
  const std::size_t train_n = std::min(config.train_images, train.size());
  const std::size_t total = train_n * config.epochs;
  const std::size_t every = std::max<std::size_t>(1, total / 50);
  const auto start = std::chrono::steady_clock::now();
  sim.plastic = true;
  std::size_t done = 0;
  double spikes = 0.0;
  const auto record = [&](std::size_t images) {
    const double sum = sleep.weight_sum(sim);
    result.weight_sum_trajectory.push_back(sum);
    nlohmann::json r;
    r["kind"] = "batch";
    r["phase"] = "train";
    r["images"] = images;
    r["weight_sum"] = sum;
    r["weight_sum_ratio"] = sleep.initial_sum() > 0 ? sum / sleep.initial_sum() : 0.0;
    r["input_weight_sum"] = sim.projection(p_se).weight_sum();
    r["recurrent_weight_sum"] = sim.projection(p_ee).weight_sum();
    r["exc_rate_hz"] = images ? spikes / (static_cast<double>(n_e) * static_cast<double>(every) *
                                          config.presentation_ms * 1e-3)
                              : 0.0;
    r["sleep_steps"] = sleep.slept_steps();
    if (metrics.is_open()) metrics << r.dump() << '\n' << std::flush;
    spikes = 0.0;
  };
  record(0);
  for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
    const std::vector<std::size_t> order =
        config.shuffle ? epoch_order(train_n, config.seed, epoch) : [&] {
          std::vector<std::size_t> o(train_n);
          for (std::size_t i = 0; i < train_n; ++i) o[i] = i;
          return o;
        }();
    for (const std::size_t index : order) {
      present(train.samples.data() + index * n_in);
      for (const double c : counts) spikes += c;
      ++done;
      sleep.after_image(sim, done, steps_per_image + rest_steps);
      if (done % every == 0 || done == total) record(done);
      if (options.progress) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double per = elapsed / static_cast<double>(done);
        progress.update(epoch + 1, config.epochs, done, total, 0.0, 0.0, {}, 1e3 * per,
                        per * static_cast<double>(total - done));
      }
    }
  }
  progress.finish_line();
  result.train_images = done;
  result.presentations = done;
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.train_images_per_second = static_cast<double>(done) / result.train_seconds;
  result.sleep_steps = sleep.slept_steps();
  {
    const std::vector<float>& a = sim.projection(p_se).weights;
    const std::vector<float>& b = sim.projection(p_ee).weights;
    std::vector<float> all(a);
    all.insert(all.end(), b.begin(), b.end());
    result.fraction_at_bounds = fraction_at_bounds(all, config.input.stdp);
  }

  // Frozen passes: spike counts -> linear readout.
  sim.plastic = false;
  const std::size_t label_n = std::min(config.label_images, train.size());
  const std::size_t test_n = std::min(config.test_images, test.size());
  std::vector<double> train_features(label_n * n_e), test_features(test_n * n_e);
  std::vector<std::int32_t> train_labels(label_n), test_labels(test_n);
  for (std::size_t k = 0; k < label_n; ++k) {
    present(train.samples.data() + k * n_in);
    std::copy(counts.begin(), counts.end(),
              train_features.begin() + static_cast<std::ptrdiff_t>(k * n_e));
    train_labels[k] = train.labels[k];
  }
  for (std::size_t k = 0; k < test_n; ++k) {
    present(test.samples.data() + k * n_in);
    std::copy(counts.begin(), counts.end(),
              test_features.begin() + static_cast<std::ptrdiff_t>(k * n_e));
    test_labels[k] = test.labels[k];
  }
  LinearReadout readout;
  readout.fit(train_features, train_labels, n_e, classes, config.readout_lambda);
  result.running_train_accuracy = readout.accuracy(train_features, train_labels);
  result.test_accuracy = readout.accuracy(test_features, test_labels);
  for (std::size_t k = 0; k < test_n; ++k)
    result.test_predictions.push_back(readout.predict(test_features.data() + k * n_e));
  result.final_weights = sim.projection(p_se).weights;
  const std::vector<float>& eew = sim.projection(p_ee).weights;
  result.final_weights.insert(result.final_weights.end(), eew.begin(), eew.end());
  if (metrics.is_open()) {
    nlohmann::json r;
    r["kind"] = "result";
    r["train_images"] = done;
    r["train_seconds"] = result.train_seconds;
    r["train_images_per_s"] = result.train_images_per_second;
    r["readout_train_accuracy"] = result.running_train_accuracy;
    r["test_accuracy"] = result.test_accuracy;
    r["sleep_steps"] = result.sleep_steps;
    r["fraction_at_bounds"] = result.fraction_at_bounds;
    r["weight_sum_final_ratio"] =
        sleep.initial_sum() > 0 ? result.weight_sum_trajectory.back() / sleep.initial_sum() : 0.0;
    metrics << r.dump() << '\n';
  }
  return result;
}

}  // namespace homeostat
