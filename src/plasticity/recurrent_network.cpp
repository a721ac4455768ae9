#include "plasticity/recurrent_network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "plasticity/linear_readout.hpp"

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

ProjectionSpec input_spec(const SimulationConfig& config, std::size_t stimulus,
                          std::size_t excitatory) {
  ProjectionSpec se = config.input;
  se.pre = stimulus;
  se.post = excitatory;
  return se;
}

ProjectionSpec recurrent_spec(const SimulationConfig& config, std::size_t excitatory) {
  ProjectionSpec ee = config.recurrent_ee;
  ee.pre = excitatory;
  ee.post = excitatory;
  ee.exclude_self = true;
  ee.stdp = config.input.stdp;
  return ee;
}

ProjectionSpec excitatory_to_inhibitory_spec(const SimulationConfig& config, std::size_t excitatory,
                                             std::size_t inhibitory) {
  ProjectionSpec ei = config.recurrent_ei;
  ei.pre = excitatory;
  ei.post = inhibitory;
  return ei;
}

ProjectionSpec inhibitory_to_excitatory_spec(const SimulationConfig& config, std::size_t inhibitory,
                                             std::size_t excitatory) {
  ProjectionSpec ie = config.recurrent_ie;
  ie.pre = inhibitory;
  ie.post = excitatory;
  ie.receptor = Receptor::inhibitory;
  return ie;
}

std::size_t steps_of(double ms, double dt) {
  return static_cast<std::size_t>(std::lround(ms / dt));
}

}  // namespace

// The members are built in declaration order, which is the order the populations and
// projections are added in (it seeds their random draws).
RecurrentNetwork::RecurrentNetwork(const SimulationConfig& config, std::size_t input_size)
    : config_(config),
      sim_(config.dt, config.seed),
      stimulus_(sim_.add_population(Population::poisson("stimulus", input_size))),
      excitatory_(sim_.add_population(
          Population("excitatory", config.excitatory_count, config.excitatory))),
      inhibitory_(sim_.add_population(
          Population("inhibitory", config.inhibitory_count, config.inhibitory))),
      input_projection_(sim_.add_projection(input_spec(config, stimulus_, excitatory_))),
      recurrent_projection_(sim_.add_projection(recurrent_spec(config, excitatory_))),
      excitatory_to_inhibitory_(
          sim_.add_projection(excitatory_to_inhibitory_spec(config, excitatory_, inhibitory_))),
      inhibitory_to_excitatory_(
          sim_.add_projection(inhibitory_to_excitatory_spec(config, inhibitory_, excitatory_))),
      sleep_(config.sleep, config.sleep_noise_mv, {input_projection_, recurrent_projection_},
             {stimulus_}, {excitatory_, inhibitory_}, sim_),
      presentation_steps_(steps_of(config.presentation_ms, config.dt)),
      rest_steps_(steps_of(config.rest_ms, config.dt)),
      rates_(input_size),
      counts_(config.excitatory_count) {}

void RecurrentNetwork::present(std::span<const float> pixels) {
  for (std::size_t i = 0; i < rates_.size(); ++i)
    rates_[i] = static_cast<float>(pixels[i] * config_.max_rate_hz);
  sim_.set_rates(stimulus_, rates_);
  std::fill(counts_.begin(), counts_.end(), 0.0);
  for (std::size_t s = 0; s < presentation_steps_; ++s) {
    sim_.step();
    for (const std::uint32_t j : sim_.spikes(excitatory_)) counts_[j] += 1.0;
  }
  sim_.population(stimulus_).silence();
  for (std::size_t s = 0; s < rest_steps_; ++s) sim_.step();
}

void RecurrentNetwork::after_image(std::size_t images_seen) {
  sleep_.after_image(sim_, images_seen, presentation_steps_ + rest_steps_);
}

double RecurrentNetwork::plastic_weight_sum() { return sleep_.weight_sum(sim_); }

double RecurrentNetwork::input_weight_sum() const {
  return sim_.projection(input_projection_).weight_sum();
}

double RecurrentNetwork::recurrent_weight_sum() const {
  return sim_.projection(recurrent_projection_).weight_sum();
}

std::vector<float> RecurrentNetwork::plastic_weights() const {
  std::vector<float> all = sim_.projection(input_projection_).weights;
  const std::vector<float>& recurrent = sim_.projection(recurrent_projection_).weights;
  all.insert(all.end(), recurrent.begin(), recurrent.end());
  return all;
}

double RecurrentNetwork::fraction_at_bounds() const {
  return homeostat::fraction_at_bounds(plastic_weights(), config_.input.stdp);
}

void train_recurrent(RecurrentNetwork& net, const SimulationConfig& config, const Dataset& train,
                     const std::function<void(const RecurrentImage&)>& on_image) {
  const std::size_t n_in = train.sample_size();
  const std::size_t train_n = std::min(config.train_images, train.size());
  net.set_learning(true);
  std::size_t done = 0;
  for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
    for (const std::size_t index : image_order(train_n, config, epoch)) {
      net.present(std::span<const float>(train.samples.data() + index * n_in, n_in));
      ++done;
      net.after_image(done);
      on_image(RecurrentImage{epoch, done, net.counts()});
    }
  }
}

namespace {

// The excitatory spike counts of the first n images of `data` ([n, neurons]), and their labels.
struct FrozenResponses {
  std::vector<double> features;
  std::vector<std::int32_t> labels;
};

FrozenResponses frozen_responses(RecurrentNetwork& net, const Dataset& data, std::size_t n) {
  const std::size_t n_in = data.sample_size();
  const std::size_t n_e = net.excitatory_count();
  FrozenResponses responses{std::vector<double>(n * n_e), std::vector<std::int32_t>(n)};
  for (std::size_t k = 0; k < n; ++k) {
    net.present(std::span<const float>(data.samples.data() + k * n_in, n_in));
    std::copy(net.counts().begin(), net.counts().end(),
              responses.features.begin() + static_cast<std::ptrdiff_t>(k * n_e));
    responses.labels[k] = data.labels[k];
  }
  return responses;
}

}  // namespace

RecurrentEvaluation evaluate_recurrent(RecurrentNetwork& net, const SimulationConfig& config,
                                       const Dataset& train, const Dataset& test) {
  net.set_learning(false);
  const std::size_t n_e = net.excitatory_count();
  const FrozenResponses fit =
      frozen_responses(net, train, std::min(config.label_images, train.size()));
  const FrozenResponses tested =
      frozen_responses(net, test, std::min(config.test_images, test.size()));
  LinearReadout readout;
  readout.fit(fit.features, fit.labels, n_e, std::max<std::size_t>(train.num_classes, 2),
              config.readout_lambda);
  RecurrentEvaluation evaluation;
  evaluation.readout_train_accuracy = readout.accuracy(fit.features, fit.labels);
  evaluation.test_accuracy = readout.accuracy(tested.features, tested.labels);
  for (std::size_t k = 0; k < tested.labels.size(); ++k)
    evaluation.test_predictions.push_back(readout.predict(tested.features.data() + k * n_e));
  return evaluation;
}

}  // namespace homeostat
