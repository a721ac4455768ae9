#include "plasticity/population.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "random/counter_rng.hpp"

namespace homeostat {

float fast_exp_nonpositive(float x) {
  // exp(x) = 2^n e^r, n = round(x / ln 2), |r| <= ln2 / 2; degree-6 Taylor polynomial for e^r.
  x = std::max(x, -87.0f);
  const float n = std::nearbyint(x * 1.44269504f);
  const float r = x - n * 0.693145752f - n * 1.42860677e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const auto scale = std::bit_cast<float>(static_cast<std::int32_t>(n + 127.0f) << 23);
  return p * scale;
}

Population::Population(std::string name, std::size_t size, bool input, const LifParams& params)
    : name_(std::move(name)), size_(size), input_(input), params_(params) {
  if (input_) {
    rates_hz.assign(size_, 0.0f);
    next_spike.assign(size_, kNever);
    probability_.assign(size_, 0.0);
    log_q_.assign(size_, 0.0);
    buckets_.resize(kBuckets);
  } else {
    v.assign(size_, static_cast<float>(params_.v_init));
    ge.assign(size_, 0.0f);
    gi.assign(size_, 0.0f);
    theta.assign(size_, 0.0);
    adapt.assign(size_, 0.0f);
    refractory.assign(size_, 0);
    candidates_.reserve(size_);
    fired_.assign(size_, 0);
  }
}

Population::Population(std::string name, std::size_t size, const LifParams& params)
    : Population(std::move(name), size, false, params) {}

Population Population::poisson(std::string name, std::size_t size) {
  return Population(std::move(name), size, true, LifParams{});
}

namespace {

// Steps until the next success of a Bernoulli(p) process, counting the current step as 0.
// log_q = log1p(-p), cached per neuron while its rate holds.
std::uint64_t geometric_gap(double p, double log_q, double u) {
  if (p >= 1.0) return 0;
  if (p <= 0.0) return Population::kNever;
  const double gap = std::floor(std::log(1.0 - u) / log_q);  // 1 - u in (0, 1]
  return gap > 1e15 ? Population::kNever : static_cast<std::uint64_t>(gap);
}

}  // namespace

void Population::set_rates(std::span<const float> rates, std::uint64_t step, double dt,
                           std::uint64_t seed, std::size_t population_index) {
  const CounterRng rng(seed, RngPurpose::encode, {population_index, 0});
  for (std::size_t i = 0; i < size_; ++i) {
    rates_hz[i] = rates[i];
    const double p = static_cast<double>(rates[i]) * dt * 1e-3;
    probability_[i] = p;
    log_q_[i] = p > 0.0 && p < 1.0 ? std::log1p(-p) : 0.0;
    const std::uint64_t gap = geometric_gap(p, log_q_[i], rng.uniform(step * size_ + i));
    next_spike[i] = gap == kNever ? kNever : step + gap;
  }
  for (auto& bucket : buckets_) bucket.clear();
  for (std::size_t i = 0; i < size_; ++i) schedule(static_cast<std::uint32_t>(i));
}

void Population::silence() {
  std::fill(rates_hz.begin(), rates_hz.end(), 0.0f);
  std::fill(next_spike.begin(), next_spike.end(), kNever);
  for (auto& bucket : buckets_) bucket.clear();
}

void Population::copy_state(const Population& other) {
  if (input_) {
    silence();
    return;
  }
  std::copy(other.v.begin(), other.v.end(), v.begin());
  std::copy(other.ge.begin(), other.ge.end(), ge.begin());
  std::copy(other.gi.begin(), other.gi.end(), gi.begin());
  std::copy(other.theta.begin(), other.theta.end(), theta.begin());
  std::copy(other.adapt.begin(), other.adapt.end(), adapt.begin());
  std::copy(other.refractory.begin(), other.refractory.end(), refractory.begin());
}

void Population::to_rest() {
  if (input_) return;
  std::fill(v.begin(), v.end(), static_cast<float>(params_.v_rest));
  std::fill(ge.begin(), ge.end(), 0.0f);
  std::fill(gi.begin(), gi.end(), 0.0f);
  std::fill(adapt.begin(), adapt.end(), 0.0f);
  std::fill(refractory.begin(), refractory.end(), 0u);
}

void Population::schedule(std::uint32_t i) {
  if (next_spike[i] != kNever) buckets_[next_spike[i] % kBuckets].push_back(i);
}

std::size_t Population::step(std::uint64_t step, double dt, bool adapt_threshold,
                             std::uint64_t seed, std::size_t population_index,
                             std::uint32_t* spikes) {
  if (input_) return emit_poisson(step, seed, population_index, spikes);
  integrate(dt);
  if (params_.noise_mv > 0.0) add_noise(step, dt, seed, population_index);
  std::size_t count = cross_thresholds(dt, adapt_threshold, spikes);
  if (params_.k_wta > 0 && count > params_.k_wta) count = keep_most_depolarized(count, spikes);
  reset_fired(dt, adapt_threshold, count, spikes);
  return count;
}

std::size_t Population::emit_poisson(std::uint64_t step, std::uint64_t seed,
                                     std::size_t population_index, std::uint32_t* spikes) {
  std::size_t count = 0;
  const CounterRng rng(seed, RngPurpose::encode, {population_index, 1});
  std::vector<std::uint32_t>& bucket = buckets_[step % kBuckets];
  due_.swap(bucket);
  bucket.clear();
  for (const std::uint32_t i : due_) {
    if (next_spike[i] == step) {
      spikes[count++] = i;
    } else {
      schedule(i);  // a gap longer than the calendar: not yet
    }
  }
  due_.clear();
  std::sort(spikes, spikes + count);
  for (std::size_t s = 0; s < count; ++s) {
    const std::uint32_t i = spikes[s];
    const std::uint64_t gap =
        geometric_gap(probability_[i], log_q_[i], rng.uniform(step * size_ + i));
    next_spike[i] = gap == kNever ? kNever : step + 1 + gap;
    schedule(i);
  }
  return count;
}

void Population::integrate(double dt) {
  const LifParams& p = params_;
  const auto rest = static_cast<float>(p.v_rest);
  const auto e_exc = static_cast<float>(p.e_exc);
  const auto e_inh = static_cast<float>(p.e_inh);
  const auto dt_tau = static_cast<float>(dt / p.tau_m);
  const auto decay_exc = static_cast<float>(std::exp(-dt / p.tau_exc));
  const auto decay_inh = static_cast<float>(std::exp(-dt / p.tau_inh));
  const auto decay_adapt = static_cast<float>(std::exp(-dt / p.tau_adapt));
  const auto v_min = static_cast<float>(std::max(p.v_min, -1e30));
  const auto v_max = static_cast<float>(std::min(p.v_max, 1e30));
  const bool conductance = p.synapses == SynapseModel::conductance;
  // Distinct buffers: restrict lets the compiler vectorize the update.
  float* __restrict vv = v.data();
  float* __restrict gev = ge.data();
  float* __restrict giv = gi.data();
  float* __restrict av = adapt.data();
  const std::uint32_t* __restrict ref = refractory.data();
  for (std::size_t i = 0; i < size_; ++i) {
    const float g_e = gev[i];
    const float g_i = giv[i];
    const float a =
        conductance ? rest + g_e * e_exc + g_i * e_inh - av[i] : rest + g_e - g_i - av[i];
    const float b = conductance ? 1.0f + g_e + g_i : 1.0f;
    const float v_inf = a / b;
    const float moved = v_inf + (vv[i] - v_inf) * fast_exp_nonpositive(-b * dt_tau);
    vv[i] = ref[i] > 0 ? vv[i] : std::clamp(moved, v_min, v_max);
    gev[i] = g_e * decay_exc;
    giv[i] = g_i * decay_inh;
    av[i] *= decay_adapt;
  }
}

void Population::add_noise(std::uint64_t step, double dt, std::uint64_t seed,
                           std::size_t population_index) {
  const LifParams& p = params_;
  const auto v_min = static_cast<float>(std::max(p.v_min, -1e30));
  const auto v_max = static_cast<float>(std::min(p.v_max, 1e30));
  float* __restrict vv = v.data();
  const std::uint32_t* __restrict ref = refractory.data();
  const CounterRng rng(seed, RngPurpose::noise, {population_index, step});
  const double sd = p.noise_mv * std::sqrt(1.0 - std::exp(-2.0 * dt / p.tau_m));
  for (std::size_t i = 0; i < size_; ++i) {
    if (ref[i] == 0)
      vv[i] = std::clamp(vv[i] + static_cast<float>(sd * rng.normal(i)), v_min, v_max);
  }
}

std::size_t Population::cross_thresholds(double dt, bool adapt_threshold, std::uint32_t* spikes) {
  const double decay_theta = adapt_threshold ? std::exp(-dt / params_.tau_theta) : 1.0;
  double* th = theta.data();
  if (decay_theta != 1.0) {
    for (std::size_t i = 0; i < size_; ++i) th[i] *= decay_theta;
  }
  std::uint32_t* __restrict refv = refractory.data();
  std::uint8_t* __restrict fired = fired_.data();
  const float* __restrict vr = v.data();
  const double* __restrict thr = theta.data();
  const double threshold_mv = params_.v_th;
  const std::size_t n = size_;
  std::uint32_t any = 0;
  for (std::size_t i = 0; i < n; ++i) {  // vectorized; most steps have no spike
    const std::uint32_t r = refv[i];
    const std::uint32_t f = (r == 0) & (static_cast<double>(vr[i]) > threshold_mv + thr[i]);
    fired[i] = static_cast<std::uint8_t>(f);
    any |= f;
    refv[i] = r - (r > 0);
  }
  std::size_t count = 0;
  if (any) {
    for (std::size_t i = 0; i < size_; ++i) {  // branch-free compaction
      spikes[count] = static_cast<std::uint32_t>(i);
      count += fired[i];
    }
  }
  return count;
}

std::size_t Population::keep_most_depolarized(std::size_t count, std::uint32_t* spikes) {
  // Keep the k most depolarized (ties: lower index), in index order.
  const std::size_t k = params_.k_wta;
  const double threshold_mv = params_.v_th;
  candidates_.resize(count);
  for (std::size_t s = 0; s < count; ++s)
    candidates_[s] = {
        static_cast<float>(-(static_cast<double>(v[spikes[s]]) - threshold_mv - theta[spikes[s]])),
        spikes[s]};
  std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k - 1),
                   candidates_.end());
  std::sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (std::size_t s = 0; s < k; ++s) spikes[s] = candidates_[s].second;
  return k;
}

void Population::reset_fired(double dt, bool adapt_threshold, std::size_t count,
                             const std::uint32_t* spikes) {
  const LifParams& p = params_;
  const auto reset = static_cast<float>(p.v_reset);
  const double theta_plus = adapt_threshold ? p.theta_plus : 0.0;
  const auto adapt_delta = static_cast<float>(p.adapt_delta);
  const auto full_steps = static_cast<std::uint32_t>(std::lround(p.refractory_ms / dt));
  const std::uint32_t refractory_steps =
      p.refractory_includes_spike_step && full_steps > 0 ? full_steps - 1 : full_steps;
  for (std::size_t s = 0; s < count; ++s) {
    const std::uint32_t i = spikes[s];
    v[i] = reset;
    theta[i] += theta_plus;
    adapt[i] += adapt_delta;
    refractory[i] = refractory_steps;
  }
}

bool Population::quiescent(double epsilon) const {
  if (input_) {
    return std::all_of(next_spike.begin(), next_spike.end(),
                       [](std::uint64_t s) { return s == kNever; });
  }
  if (params_.noise_mv > 0.0 || params_.v_rest >= params_.v_th || params_.v_reset >= params_.v_th)
    return false;
  const auto eps = static_cast<float>(epsilon);
  for (std::size_t i = 0; i < size_; ++i) {
    if (std::fabs(ge[i]) > eps || std::fabs(gi[i]) > eps || std::fabs(adapt[i]) > eps) return false;
  }
  return true;
}

void Population::relax(std::size_t steps, double dt, bool adapt_threshold) {
  if (input_ || steps == 0) return;
  const LifParams& p = params_;
  const double n = static_cast<double>(steps);
  const auto decay_exc = static_cast<float>(std::exp(-n * dt / p.tau_exc));
  const auto decay_inh = static_cast<float>(std::exp(-n * dt / p.tau_inh));
  const auto decay_adapt = static_cast<float>(std::exp(-n * dt / p.tau_adapt));
  const double decay_theta = adapt_threshold ? std::exp(-n * dt / p.tau_theta) : 1.0;
  const auto rest = static_cast<float>(p.v_rest);
  for (std::size_t i = 0; i < size_; ++i) {
    const std::size_t held = std::min<std::size_t>(refractory[i], steps);
    const double free_steps = static_cast<double>(steps - held);
    v[i] = rest + (v[i] - rest) * static_cast<float>(std::exp(-free_steps * dt / p.tau_m));
    refractory[i] -= static_cast<std::uint32_t>(held);
    ge[i] *= decay_exc;
    gi[i] *= decay_inh;
    adapt[i] *= decay_adapt;
    theta[i] *= decay_theta;
  }
}

}  // namespace homeostat
