#include "plasticity/sleep_phase.hpp"

#include <algorithm>
#include <span>

namespace homeostat {

SleepPhase::SleepPhase(const SleepParams& params, double noise_mv,
                       std::vector<std::size_t> projections, std::vector<std::size_t> inputs,
                       std::vector<std::size_t> noisy, Simulator& sim)
    : params_(params),
      noise_mv_(noise_mv),
      projections_(std::move(projections)),
      inputs_(std::move(inputs)),
      noisy_(std::move(noisy)) {
  for (const std::size_t p : projections_) {
    const std::vector<float>& w = sim.projection(p).weights;
    const double sum = absolute_sum<float>(w);
    initial_sum_ += sum;
    const double mean = w.empty() ? 0.0 : sum / static_cast<double>(w.size());
    targets_.push_back(params_.target > 0 ? params_.target : std::max(mean, 1e-12));
  }
}

double SleepPhase::weight_sum(Simulator& sim) const {
  double total = 0.0;
  for (const std::size_t p : projections_) total += absolute_sum<float>(sim.projection(p).weights);
  return total;
}

void SleepPhase::sleep(Simulator& sim, std::size_t steps) {
  if (steps == 0) return;
  for (const std::size_t p : inputs_) sim.population(p).silence();
  wake_noise_.clear();
  for (const std::size_t p : noisy_) {
    wake_noise_.push_back(sim.population(p).params().noise_mv);
    sim.population(p).set_noise(noise_mv_);
  }
  const auto decay = [&](std::size_t n) {
    const double exponent = sleep_exponent(params_.lambda, static_cast<double>(n));
    for (std::size_t k = 0; k < projections_.size(); ++k)
      apply_sleep<float>(std::span<float>(sim.projection(projections_[k]).weights), targets_[k],
                         exponent);
  };
  std::size_t pending = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    sim.step();
    if (++pending == kDecayEvery) {
      decay(pending);
      pending = 0;
    }
  }
  if (pending > 0) decay(pending);
  for (std::size_t k = 0; k < noisy_.size(); ++k)
    sim.population(noisy_[k]).set_noise(wake_noise_[k]);
  slept_steps_ += steps;
}

std::size_t SleepPhase::after_image(Simulator& sim, std::size_t images_seen,
                                    std::size_t steps_per_image) {
  if (params_.trigger == SleepTrigger::schedule) {
    const auto steps =
        static_cast<std::size_t>(scheduled_sleep_steps(params_, images_seen, steps_per_image));
    sleep(sim, steps);
    if (steps > 0) ++episodes_;
    return steps;
  }
  double sum = weight_sum(sim);
  if (initial_sum_ <= 0.0 || sum <= params_.max_factor * initial_sum_) return 0;
  std::size_t slept = 0;
  ++episodes_;
  const std::size_t chunk = std::max<std::size_t>(1, steps_per_image);
  while (sum > params_.baseline_factor * initial_sum_ && slept < params_.max_steps) {
    const double before = sum;
    sleep(sim, chunk);
    slept += chunk;
    sum = weight_sum(sim);
    if (before - sum <= 1e-9 * before) break;  // the decay has stopped lowering the sum
  }
  return slept;
}

}  // namespace homeostat
