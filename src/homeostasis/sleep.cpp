#include "homeostasis/sleep.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.hpp"
#include "homeostasis/synapses.hpp"

namespace homeostat {

template <typename Real>
Sleep<Real>::Sleep(std::string kind, std::vector<std::size_t> layers, const SleepParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)), params_(params) {}

template <typename Real>
std::vector<Tensor<Real>*> Sleep<Real>::tensors(Network<Real>& network) const {
  std::vector<Tensor<Real>*> list;
  for (const std::size_t layer : this->layers()) {
    const std::optional<std::size_t> source = synaptic_source(network, layer);
    if (!source) continue;
    for (Tensor<Real>* w : network.layer(*source).incoming_synapses().weights) list.push_back(w);
  }
  return list;
}

template <typename Real>
void Sleep<Real>::attach(Network<Real>& network) {
  // The baseline is the network as built (a resumed run restores it from the checkpoint).
  targets_.clear();
  initial_sums_.clear();
  for (Tensor<Real>* w : tensors(network)) {
    const double sum = absolute_sum<Real>(w->span());
    initial_sums_.push_back(sum);
    const double mean = w->size() ? sum / static_cast<double>(w->size()) : 0.0;
    targets_.push_back(params_.target > 0 ? params_.target : std::max(mean, 1e-12));
  }
}

template <typename Real>
double Sleep<Real>::sleep(Network<Real>& network, double steps) {
  const double exponent = sleep_exponent(params_.lambda, steps);
  double total = 0.0;
  const std::vector<Tensor<Real>*> list = tensors(network);
  for (std::size_t i = 0; i < list.size(); ++i) {
    apply_sleep<Real>(list[i]->span(), targets_[i], exponent);
    total += absolute_sum<Real>(list[i]->span());
  }
  slept_steps_ += steps;
  return total;
}

template <typename Real>
void Sleep<Real>::after_update(Network<Real>& network, const BatchActivity& activity,
                               const TrainingClock&) {
  ++batches_seen_;
  double initial = 0.0;
  for (const double s : initial_sums_) initial += s;
  if (initial <= 0.0) return;
  const auto current_sum = [&] {
    double total = 0.0;
    for (Tensor<Real>* w : tensors(network)) total += absolute_sum<Real>(w->span());
    return total;
  };
  if (params_.trigger == SleepTrigger::schedule) {
    const double steps = scheduled_sleep_steps(params_, batches_seen_, activity.steps);
    if (steps > 0) {
      last_sum_ratio_ = sleep(network, steps) / initial;
      ++episodes_;
    } else {
      last_sum_ratio_ = current_sum() / initial;
    }
    return;
  }
  double sum = current_sum();
  if (sum > params_.max_factor * initial) {
    ++episodes_;
    // Sleep in chunks of one batch's worth of steps until back at the baseline.
    const double chunk = static_cast<double>(std::max<std::size_t>(1, activity.steps));
    double slept = 0.0;
    while (sum > params_.baseline_factor * initial &&
           slept < static_cast<double>(params_.max_steps)) {
      const double before = sum;
      sum = sleep(network, chunk);
      slept += chunk;
      // The decay's fixed point is sum = N w_tgt; a baseline below it is approached only
      // asymptotically, so an episode that has stopped moving ends here, not at max_steps.
      if (before - sum <= 1e-9 * before) break;
    }
  }
  last_sum_ratio_ = sum / initial;
}

template <typename Real>
nlohmann::json Sleep<Real>::save_state() const {
  return {{"targets", targets_},           {"initial_sums", initial_sums_},
          {"batches_seen", batches_seen_}, {"slept_steps", slept_steps_},
          {"episodes", episodes_},         {"sum_ratio", last_sum_ratio_}};
}

template <typename Real>
void Sleep<Real>::load_state(const nlohmann::json& state, Network<Real>& network) {
  std::vector<double> targets = state.at("targets").get<std::vector<double>>();
  std::vector<double> initial_sums = state.at("initial_sums").get<std::vector<double>>();
  const std::size_t count = tensors(network).size();
  if (targets.size() != count || initial_sums.size() != count) {
    throw DataError("regulator 'sleep' saved targets for " + std::to_string(targets.size()) +
                    " weight tensors but its layers have " + std::to_string(count));
  }
  targets_ = std::move(targets);
  initial_sums_ = std::move(initial_sums);
  batches_seen_ = state.at("batches_seen").get<std::size_t>();
  slept_steps_ = state.at("slept_steps").get<double>();
  episodes_ = state.at("episodes").get<std::size_t>();
  last_sum_ratio_ = state.at("sum_ratio").get<double>();
}

template <typename Real>
nlohmann::json Sleep<Real>::describe() const {
  return {{"episodes", episodes_},
          {"slept_steps", slept_steps_},
          {"weight_sum_ratio", last_sum_ratio_}};
}

template class Sleep<float>;
template class Sleep<double>;

namespace {

SleepParams read_sleep(const KeyReader& s) {
  constexpr double kInf = KeyReader::kNoMax;
  SleepParams p;
  p.trigger = s.choice("trigger", "schedule", {"schedule", "weight_sum"}) == "weight_sum"
                  ? SleepTrigger::weight_sum
                  : SleepTrigger::schedule;
  p.ratio = s.number("ratio", p.ratio, 0.0, 1.0);
  p.interval = read_count(s, "interval", p.interval, 1);
  p.lambda = s.number("lambda", p.lambda, 1e-9, 1.0);
  p.target = s.number("target", p.target, 0.0, kInf);
  p.max_factor = s.number("max_factor", p.max_factor, 1.0, kInf);
  p.baseline_factor = s.number("baseline_factor", p.baseline_factor, 0.0, p.max_factor);
  if (p.target == 0.0 && p.baseline_factor <= 1.0) {
    throw s.error("baseline_factor",
                  "must exceed 1 when 'target' is the initial mean |w| (the decay reaches the "
                  "initial weight sum only asymptotically)");
  }
  p.max_steps = read_count(s, "max_steps", p.max_steps, 1);
  return p;
}

}  // namespace

std::vector<RegulatorKind> sleep_kinds() {
  return {regulator_kind<Sleep>("sleep", RegulatorChannel::weights,
                                "sleep phases: weights decay toward a baseline (seed 002)",
                                read_sleep)};
}

}  // namespace homeostat
