#include "plasticity/projection.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "random/counter_rng.hpp"

namespace homeostat {

namespace {
constexpr std::size_t kPostBlock = 128;  // postsynaptic neurons per work item

void add_row(const float* __restrict row, float* __restrict input, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) input[j] += row[j];
}

// input += row, then the additive pre side: row = clip(row - a_minus y). Vectorized.
void deliver_and_depress(float* __restrict row, float* __restrict input, const float* __restrict y,
                         std::size_t n, float a_minus, float w_min, float w_max) {
  for (std::size_t j = 0; j < n; ++j) {
    const float wij = row[j];
    input[j] += wij;
    row[j] = std::clamp(wij - a_minus * y[j], w_min, w_max);
  }
}

}  // namespace

Projection::Projection(ProjectionSpec spec, std::size_t pre_size, std::size_t post_size,
                       std::uint64_t seed, std::size_t index)
    : spec_(std::move(spec)), pre_size_(pre_size), post_size_(post_size) {
  if (spec_.delay < 1) throw std::invalid_argument("projection delay must be >= 1 step");
  if (spec_.connectivity == Connectivity::one_to_one && pre_size != post_size)
    throw std::invalid_argument("one_to_one projection between populations of different sizes");
  const std::size_t count =
      spec_.connectivity == Connectivity::dense ? pre_size * post_size : pre_size;
  weights.resize(count);
  const CounterRng rng(seed, RngPurpose::init, {1000 + index});
  for (std::size_t k = 0; k < count; ++k) {
    weights[k] =
        static_cast<float>(spec_.init_low + (spec_.init_high - spec_.init_low) * rng.uniform(k));
  }
  if (spec_.connectivity == Connectivity::dense && spec_.exclude_self) {
    for (std::size_t i = 0; i < std::min(pre_size, post_size); ++i) weights[i * post_size + i] = 0;
  }
  traces_needed_ = spec_.stdp.kind != StdpKind::none;
  x1.assign(pre_size, 0.0f);
  x2.assign(pre_size, 0.0f);
  y1.assign(post_size, 0.0f);
  y2.assign(post_size, 0.0f);
  column_sums_.assign(post_size, 0.0);
  column_factors_.assign(post_size, 1.0f);
}

void Projection::decay_traces(double steps, double dt) {
  const StdpParams& p = spec_.stdp;
  const auto scale = [steps, dt](std::vector<float>& trace, double tau) {
    const auto f = static_cast<float>(std::exp(-steps * dt / tau));
    for (float& x : trace) x *= f;
  };
  scale(x1, p.tau_plus);
  scale(y1, p.tau_minus);
  if (p.kind == StdpKind::triplet) {
    scale(x2, p.tau_x);
    scale(y2, p.tau_y);
  }
}

void Projection::relax(std::size_t steps, double dt) {
  if (!traces_needed_ || steps == 0) return;
  // The running target follows the decaying mean trace: exact for x_tar' = (m - x_tar) / tau_t
  // with m = m0 e^{-t / tau_plus}.
  if (spec_.stdp.kind == StdpKind::target && spec_.stdp.tau_target > 0.0) {
    const double m0 = population_mean_trace();
    const double t = static_cast<double>(steps) * dt;
    const double a = 1.0 / spec_.stdp.tau_target;
    const double b = 1.0 / spec_.stdp.tau_plus;
    const double particular = std::fabs(a - b) > 1e-12
                                  ? m0 * a / (a - b) * (std::exp(-b * t) - std::exp(-a * t))
                                  : m0 * a * t * std::exp(-a * t);
    x_target_ = x_target_ * std::exp(-a * t) + particular;
  }
  decay_traces(static_cast<double>(steps), dt);
}

void Projection::deliver_dense(std::span<const std::uint32_t> arriving, float* post_input,
                               bool plastic) {
  const StdpParams& p = spec_.stdp;
  const std::size_t n = post_size_;
  const std::size_t blocks = (n + kPostBlock - 1) / kPostBlock;
  const bool pre_side = plastic && (p.kind == StdpKind::pair || p.kind == StdpKind::triplet);
  const bool simple = p.kind == StdpKind::pair && !p.soft_depression;
  const auto a_minus = static_cast<float>(p.a_minus);
  const auto w_min = static_cast<float>(p.w_min);
  const auto w_max = static_cast<float>(p.w_max);
  float* w = weights.data();
  const float* y = y1.data();
  // One block of postsynaptic neurons: delivery fused with the pre side of STDP (one pass over
  // the row; the delivered weight is the one before the change, as in two passes).
  const auto block = [&](std::size_t j0, std::size_t j1) {
    for (const std::uint32_t i : arriving) {
      float* row = w + static_cast<std::size_t>(i) * n;
      if (!pre_side) {
        add_row(row + j0, post_input + j0, j1 - j0);
      } else if (simple) {
        deliver_and_depress(row + j0, post_input + j0, y + j0, j1 - j0, a_minus, w_min, w_max);
      } else {
        add_row(row + j0, post_input + j0, j1 - j0);
        const double x2_before = x2[i];
        for (std::size_t j = j0; j < j1; ++j) {
          row[j] = static_cast<float>(stdp_pre(row[j], y[j], x2_before, p));
        }
      }
      if (pre_side && spec_.exclude_self && i >= j0 && i < j1) row[i] = 0.0f;
    }
  };
  const bool parallel = arriving.size() * n >= parallel_min_work && blocks > 1;
  if (!parallel) {  // most steps: no OpenMP region (its entry costs more than the work)
    block(0, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::size_t b = 0; b < blocks; ++b) block(b * kPostBlock, std::min(n, (b + 1) * kPostBlock));
}

void Projection::potentiate(std::span<const std::uint32_t> post_spikes) {
  const StdpParams& p = spec_.stdp;
  const std::size_t n = post_size_;
  const double x_target = p.tau_target > 0.0 ? x_target_ : population_mean_trace();
  const bool simple = p.kind == StdpKind::pair && p.soft_potentiation && p.mu_plus == 1.0;
  const auto a_plus = static_cast<float>(p.a_plus);
  const auto w_min = static_cast<float>(p.w_min);
  const auto w_max = static_cast<float>(p.w_max);
  float* w = weights.data();
  const std::size_t count = post_spikes.size();
  const auto column = [&](std::size_t s) {
    const std::size_t j = post_spikes[s];
    const double y2_before = y2[j];
    if (p.kind == StdpKind::target && (p.mu_plus == 0.0 || p.mu_plus == 1.0)) {
      // Seed 002's rule without pow: (w_max - w)^0 = 1, (w_max - w)^1.
      const auto eta = static_cast<float>(p.a_plus);
      const auto xt = static_cast<float>(x_target);
      const bool soft = p.mu_plus == 1.0;
      for (std::size_t i = 0; i < pre_size_; ++i) {
        float& wij = w[i * n + j];
        const float f = soft ? std::max(w_max - wij, 0.0f) : 1.0f;
        wij = std::clamp(wij + eta * (x1[i] - xt) * f, w_min, w_max);
      }
      if (spec_.exclude_self && j < pre_size_) w[j * n + j] = 0.0f;
      return;
    }
    for (std::size_t i = 0; i < pre_size_; ++i) {
      float& wij = w[i * n + j];
      if (simple) {
        wij = std::clamp(wij + a_plus * x1[i] * (w_max - wij), w_min, w_max);
      } else {
        wij = static_cast<float>(stdp_post(wij, x1[i], y2_before, x_target, p));
      }
    }
    if (spec_.exclude_self && j < pre_size_) w[j * n + j] = 0.0f;
  };
  if (count * pre_size_ < parallel_min_work || count < 2) {  // no OpenMP region for a few spikes
    for (std::size_t s = 0; s < count; ++s) column(s);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::size_t s = 0; s < count; ++s) column(s);
}

double Projection::population_mean_trace() const {
  double sum = 0.0;
  for (const float x : x1) sum += x;
  return sum / static_cast<double>(std::max<std::size_t>(pre_size_, 1));
}

void Projection::step(std::span<const std::uint32_t> arriving,
                      std::span<const std::uint32_t> post_spikes, float* post_input, bool plastic,
                      double dt) {
  if (traces_needed_) decay_traces(1.0, dt);
  if (spec_.connectivity == Connectivity::one_to_one) {
    for (const std::uint32_t i : arriving) post_input[i] += weights[i];
    return;  // one-to-one projections are static
  }
  deliver_dense(arriving, post_input, plastic);
  if (!traces_needed_) return;
  const TracePairing pairing = spec_.stdp.pairing;
  const bool triplet = spec_.stdp.kind == StdpKind::triplet;
  for (const std::uint32_t i : arriving) {
    x1[i] = static_cast<float>(trace_jump(x1[i], pairing));
    if (triplet) x2[i] = static_cast<float>(trace_jump(x2[i], pairing));
  }
  if (spec_.stdp.kind == StdpKind::target && spec_.stdp.tau_target > 0.0) {
    const double alpha = 1.0 - std::exp(-dt / spec_.stdp.tau_target);
    x_target_ += alpha * (population_mean_trace() - x_target_);
  }
  if (plastic && !post_spikes.empty()) potentiate(post_spikes);
  for (const std::uint32_t j : post_spikes) {
    y1[j] = static_cast<float>(trace_jump(y1[j], pairing));
    if (triplet) y2[j] = static_cast<float>(trace_jump(y2[j], pairing));
  }
}

void Projection::normalize() {
  if (spec_.normalize_total <= 0.0 || spec_.connectivity != Connectivity::dense) return;
  const std::size_t n = post_size_;
  std::vector<double>& sums = column_sums_;
  std::fill(sums.begin(), sums.end(), 0.0);
  for (std::size_t i = 0; i < pre_size_; ++i) {
    const float* row = weights.data() + i * n;
    for (std::size_t j = 0; j < n; ++j) sums[j] += row[j];
  }
  std::vector<float>& factors = column_factors_;
  for (std::size_t j = 0; j < n; ++j)
    factors[j] = sums[j] > 0.0 ? static_cast<float>(spec_.normalize_total / sums[j]) : 1.0f;
  for (std::size_t i = 0; i < pre_size_; ++i) {
    float* row = weights.data() + i * n;
    for (std::size_t j = 0; j < n; ++j) row[j] *= factors[j];
  }
}

void Projection::copy_traces(const Projection& other) {
  std::copy(other.x1.begin(), other.x1.end(), x1.begin());
  std::copy(other.x2.begin(), other.x2.end(), x2.begin());
  std::copy(other.y1.begin(), other.y1.end(), y1.begin());
  std::copy(other.y2.begin(), other.y2.end(), y2.begin());
  x_target_ = other.x_target_;
}

double Projection::weight_sum() const {
  double sum = 0.0;
  for (const float w : weights) sum += std::fabs(static_cast<double>(w));
  return sum;
}

}  // namespace homeostat
