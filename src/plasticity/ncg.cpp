#include "plasticity/ncg.hpp"

#include <algorithm>
#include <cmath>

#include "random/counter_rng.hpp"

namespace homeostat {

NcgClassifier::NcgClassifier(std::size_t inputs, std::size_t classes, const NcgParams& params)
    : inputs_(inputs), classes_(classes), outputs_(classes * params.per_class), p_(params) {
  weights.resize(inputs_ * outputs_);
  const CounterRng rng(p_.seed, RngPurpose::init, {2000});
  for (std::size_t k = 0; k < weights.size(); ++k)
    weights[k] = static_cast<float>(p_.init_low + (p_.init_high - p_.init_low) * rng.uniform(k));
  decision_thresholds_.assign(outputs_, p_.threshold);
  training_thresholds.assign(outputs_, p_.threshold);
  input_time_.assign(inputs_, p_.steps);
  by_step_.resize(p_.steps);
  potential_.assign(outputs_, 0.0);
  potential_at_spike_.assign(outputs_, 0.0);
  times_.assign(outputs_, p_.steps);
  thresholds_now_.assign(outputs_, p_.threshold);
}

void NcgClassifier::encode(std::span<const float> pixels) {
  for (auto& s : by_step_) s.clear();
  const auto last = static_cast<double>(p_.steps - 1);
  for (std::size_t j = 0; j < inputs_; ++j) {
    const float x = pixels[j];
    if (!(x > 0.01f)) {
      input_time_[j] = p_.steps;
      continue;
    }
    const auto t =
        static_cast<std::size_t>(std::lround((1.0 - std::min(static_cast<double>(x), 1.0)) * last));
    input_time_[j] = t;
    by_step_[t].push_back(static_cast<std::uint32_t>(j));
  }
}

void NcgClassifier::forward(std::span<const float> pixels, std::span<const double> thresholds) {
  encode(pixels);
  std::fill(potential_.begin(), potential_.end(), 0.0);
  std::fill(times_.begin(), times_.end(), p_.steps);
  std::size_t fired = 0;
  for (std::size_t t = 0; t < p_.steps && fired < outputs_; ++t) {
    for (const std::uint32_t j : by_step_[t]) {
      const float* row = weights.data() + static_cast<std::size_t>(j) * outputs_;
      for (std::size_t i = 0; i < outputs_; ++i) potential_[i] += row[i];
    }
    for (std::size_t i = 0; i < outputs_; ++i) {
      if (times_[i] == p_.steps && potential_[i] >= thresholds[i]) {
        times_[i] = t;
        potential_at_spike_[i] = potential_[i];
        ++fired;
      }
    }
  }
  for (std::size_t i = 0; i < outputs_; ++i)
    if (times_[i] == p_.steps) potential_at_spike_[i] = potential_[i];
}

namespace {
// First to fire; ties (and no spike at all) by the higher potential.
bool earlier(std::size_t ta, double va, std::size_t tb, double vb) {
  return ta < tb || (ta == tb && va > vb);
}
}  // namespace

std::size_t NcgClassifier::predict(std::span<const float> pixels) {
  forward(pixels, decision_thresholds_);
  std::size_t best = 0;
  for (std::size_t i = 1; i < outputs_; ++i)
    if (earlier(times_[i], potential_at_spike_[i], times_[best], potential_at_spike_[best]))
      best = i;
  return best / p_.per_class;
}

double NcgClassifier::accuracy(const Dataset& data, std::size_t limit) {
  const std::size_t n = limit ? std::min(limit, data.size()) : data.size();
  const std::size_t d = data.sample_size();
  std::size_t correct = 0;
  for (std::size_t s = 0; s < n; ++s)
    correct += predict(std::span<const float>(data.samples.data() + s * d, d)) ==
               static_cast<std::size_t>(data.labels[s]);
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

void NcgClassifier::learn(std::size_t label, double rate) {
  const std::size_t m = p_.per_class;
  // The updated neuron of each group: its first to fire.
  std::vector<std::size_t> winners(classes_);
  double mean_time = 0.0;
  for (std::size_t c = 0; c < classes_; ++c) {
    std::size_t w = c * m;
    for (std::size_t k = 1; k < m; ++k) {
      const std::size_t i = c * m + k;
      if (earlier(times_[i], potential_at_spike_[i], times_[w], potential_at_spike_[w])) w = i;
    }
    winners[c] = w;
    mean_time += static_cast<double>(times_[w]);
  }
  const auto n_u = static_cast<double>(classes_);
  mean_time /= n_u;
  const double big_t = static_cast<double>(p_.steps);
  const double gap_nt = p_.gap / n_u;
  const double gap_t = p_.gap * (n_u - 1.0) / n_u;
  const double t_base = std::min(mean_time, big_t - gap_nt);
  const double range = p_.w_max - p_.w_min;
  for (std::size_t c = 0; c < classes_; ++c) {
    const std::size_t i = winners[c];
    const double target = c == label ? t_base - gap_t : t_base + gap_nt;
    const double error = (static_cast<double>(times_[i]) - target) / big_t;
    if (error == 0.0) continue;
    const double up = rate * error * p_.a_plus;
    const double down = rate * error * p_.a_minus;
    for (std::size_t j = 0; j < inputs_; ++j) {
      float& w = weights[j * outputs_ + i];
      const double wd = w;
      const bool causal = input_time_[j] <= times_[i] && input_time_[j] < p_.steps;
      const double dw = causal ? up * std::exp(-p_.beta * (wd - p_.w_min) / range)
                               : down * std::exp(-p_.beta * (p_.w_max - wd) / range);
      w = static_cast<float>(std::clamp(wd + dw, p_.w_min, p_.w_max));
    }
    if (p_.normalize > 0.0) {
      double sum = 0.0;
      for (std::size_t j = 0; j < inputs_; ++j) sum += std::fabs(weights[j * outputs_ + i]);
      if (sum > 0.0) {
        const auto f = static_cast<float>(p_.normalize / sum);
        for (std::size_t j = 0; j < inputs_; ++j) weights[j * outputs_ + i] *= f;
      }
    }
  }
  // Competition regulation on the target group.
  const std::size_t w = winners[label];
  if (times_[w] < p_.steps && m > 1) {
    const double eta = rate * p_.threshold_lr;
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t i = label * m + k;
      training_thresholds[i] += i == w ? eta * static_cast<double>(m - 1) / static_cast<double>(m)
                                       : -eta / static_cast<double>(m);
      training_thresholds[i] = std::max(training_thresholds[i], p_.threshold_min);
    }
  }
}

void NcgClassifier::train_epoch(const Dataset& data, std::span<const std::size_t> order,
                                std::size_t epoch) {
  const double rate = std::pow(p_.anneal, static_cast<double>(epoch));
  const std::size_t d = data.sample_size();
  std::fill(training_thresholds.begin(), training_thresholds.end(), p_.threshold);
  for (const std::size_t s : order) {
    const auto label = static_cast<std::size_t>(data.labels[s]);
    // Training thresholds for the target group, decision thresholds elsewhere.
    for (std::size_t i = 0; i < outputs_; ++i)
      thresholds_now_[i] = i / p_.per_class == label ? training_thresholds[i] : p_.threshold;
    forward(std::span<const float>(data.samples.data() + s * d, d), thresholds_now_);
    learn(label, rate);
  }
}

}  // namespace homeostat
