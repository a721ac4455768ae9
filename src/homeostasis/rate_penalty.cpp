#include "homeostasis/rate_penalty.hpp"

#include <algorithm>
#include <memory>

namespace homeostat {

double rate_penalty_value(const RatePenaltyParams& params, double target, double rate) {
  switch (params.shape) {
    case PenaltyShape::l2:
      return (rate - target) * (rate - target);
    case PenaltyShape::l1:
      return rate;
    case PenaltyShape::band:
    default: {
      const double below = std::max(0.0, params.low - rate);
      const double above = std::max(0.0, rate - params.high);
      return below * below + above * above;
    }
  }
}

double rate_penalty_slope(const RatePenaltyParams& params, double target, double rate) {
  switch (params.shape) {
    case PenaltyShape::l2:
      return 2.0 * (rate - target);
    case PenaltyShape::l1:
      return 1.0;
    case PenaltyShape::band:
    default:
      return -2.0 * std::max(0.0, params.low - rate) + 2.0 * std::max(0.0, rate - params.high);
  }
}

template <typename Real>
RatePenalty<Real>::RatePenalty(std::string kind, std::vector<std::size_t> layers,
                               const RatePenaltyParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)),
      params_(params),
      current_target_(params.target),
      slopes_(this->layers().size()) {}

template <typename Real>
double RatePenalty<Real>::penalty(const BatchActivity& activity, const TrainingClock& clock) {
  const double progress = clock.progress();
  current_weight_ = params_.weight * scheduled_weight_factor(params_.schedule, progress);
  current_target_ = scheduled_target(params_.schedule, params_.target, progress);
  double total = 0.0;
  const double elements_per_rate = static_cast<double>(activity.steps * activity.samples);
  for (std::size_t k = 0; k < this->layers().size(); ++k) {
    const std::size_t slot = activity.slot(this->layers()[k]);
    const std::vector<double>& neuron_rates = activity.neuron_rates[slot];
    const double neurons = static_cast<double>(neuron_rates.size());
    const double scale = current_weight_ / (elements_per_rate * neurons);
    std::vector<Real>& slopes = slopes_[k];
    if (params_.per_neuron) {
      slopes.resize(neuron_rates.size());
      double sum = 0.0;
      for (std::size_t i = 0; i < neuron_rates.size(); ++i) {
        sum += rate_penalty_value(params_, current_target_, neuron_rates[i]);
        slopes[i] = static_cast<Real>(
            scale * rate_penalty_slope(params_, current_target_, neuron_rates[i]));
      }
      total += current_weight_ * sum / neurons;
    } else {
      const double rate = activity.rates[slot];
      total += current_weight_ * rate_penalty_value(params_, current_target_, rate);
      slopes.assign(1,
                    static_cast<Real>(scale * rate_penalty_slope(params_, current_target_, rate)));
    }
  }
  last_penalty_ = total;
  return total;
}

template <typename Real>
void RatePenalty<Real>::add_spike_gradient(std::size_t layer, std::span<Real> per_neuron) const {
  const auto found = std::find(this->layers().begin(), this->layers().end(), layer);
  if (found == this->layers().end() || current_weight_ == 0.0) return;
  const std::vector<Real>& slopes =
      slopes_[static_cast<std::size_t>(found - this->layers().begin())];
  for (std::size_t j = 0; j < per_neuron.size(); ++j)
    per_neuron[j] += slopes.size() == 1 ? slopes[0] : slopes[j];
}

template <typename Real>
std::optional<std::pair<double, double>> RatePenalty<Real>::band() const {
  switch (params_.shape) {
    case PenaltyShape::band:
      return std::pair{params_.low, params_.high};
    case PenaltyShape::l2:
      return std::pair{current_target_, current_target_};
    case PenaltyShape::l1:
    default:
      return std::nullopt;
  }
}

template <typename Real>
nlohmann::json RatePenalty<Real>::describe() const {
  return {{"weight", current_weight_}, {"target", current_target_}, {"penalty", last_penalty_}};
}

template class RatePenalty<float>;
template class RatePenalty<double>;

namespace {

constexpr double kInf = KeyReader::kNoMax;

RateSchedule read_schedule(const KeyReader& section, const RateSchedule& fallback) {
  const std::unique_ptr<KeyReader> table = section.subtable("schedule");
  const KeyReader& s = *table;
  RateSchedule schedule = fallback;
  schedule.start_epoch = s.number("start_epoch", schedule.start_epoch, 1.0, kInf);
  schedule.ramp_epochs = s.number("ramp_epochs", schedule.ramp_epochs, 0.0, kInf);
  schedule.shape = s.choice("ramp", "linear", {"linear", "cosine"}) == "cosine" ? RampShape::cosine
                                                                                : RampShape::linear;
  if (s.has("initial_target")) schedule.initial_target = s.number("initial_target", 0.0, 0.0, 1.0);
  schedule.anneal_epochs = s.number("anneal_epochs", schedule.anneal_epochs, 0.0, kInf);
  if (schedule.initial_target && !s.has("anneal_epochs")) {
    throw s.error("initial_target",
                  "give anneal_epochs too: the epochs over which the target "
                  "moves from initial_target to target");
  }
  s.reject_unknown_keys();
  return schedule;
}

RatePenaltyParams read_rate_penalty(const KeyReader& s, PenaltyShape shape) {
  RatePenaltyParams p;
  p.shape = shape;
  p.weight = s.number("weight", p.weight, 0.0, kInf);
  p.per_neuron = s.boolean("per_neuron", p.per_neuron);
  if (p.shape == PenaltyShape::l2) p.target = s.number("target", p.target, 0.0, 1.0);
  if (p.shape == PenaltyShape::band) {
    p.low = s.number("low", p.low, 0.0, 1.0);
    p.high = s.number("high", p.high, 0.0, 1.0);
    if (p.low > p.high) throw s.error("low", "must not exceed 'high'");
  }
  p.schedule = read_schedule(s, p.schedule);
  return p;
}

}  // namespace

std::vector<RegulatorKind> rate_penalty_kinds() {
  return {
      regulator_kind<RatePenalty>(
          "rate_l2", RegulatorChannel::loss, "L2 penalty of the rate toward a target (seed 000)",
          [](const KeyReader& keys) { return read_rate_penalty(keys, PenaltyShape::l2); }),
      regulator_kind<RatePenalty>(
          "rate_l1", RegulatorChannel::loss, "L1 sparsity penalty of the rate",
          [](const KeyReader& keys) { return read_rate_penalty(keys, PenaltyShape::l1); }),
      regulator_kind<RatePenalty>(
          "rate_band", RegulatorChannel::loss, "two-sided penalty outside [low, high] (seed 003)",
          [](const KeyReader& keys) { return read_rate_penalty(keys, PenaltyShape::band); }),
  };
}

}  // namespace homeostat
