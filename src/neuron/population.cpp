#include "neuron/population.hpp"

#include <algorithm>
#include <cmath>

#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

// Elements per OpenMP work item: large enough to amortize scheduling, small enough that a
// block's state stays in L1/L2 while it is scanned through time.
constexpr std::size_t kBlock = 512;

Shape learn_shape(NeuronSpec::Learn learn, std::size_t neurons) {
  return {learn == NeuronSpec::Learn::neuron ? neurons : 1};
}

// Calls body(begin, end) for fixed blocks of [0, slice), in parallel when the work
// (elements x steps) is large enough. Blocks are shape-determined, so results are not
// thread-count dependent.
template <typename Body>
void for_each_element_block(std::size_t slice, std::size_t steps, const Body& body) {
  const std::size_t blocks = (slice + kBlock - 1) / kBlock;
  const bool parallel = slice * steps >= kMinParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::size_t block = 0; block < blocks; ++block) {
    const std::size_t begin = block * kBlock;
    body(begin, std::min(slice, begin + kBlock));
  }
}

}  // namespace

template <typename Real>
NeuronPopulation<Real>::NeuronPopulation(const std::string& layer_name, std::size_t neurons,
                                         const NeuronSpec& spec)
    : spec_(spec),
      neurons_(neurons),
      neuron_scale_(neurons, 1.0),
      scale_(neurons, Real{1}),
      theta0_(neurons),
      beta_(neurons),
      uniform_spike_gradient_(neurons, Real{0}) {
  if (spec.learn_threshold != NeuronSpec::Learn::none) {
    threshold_param_.emplace(layer_name + ".threshold", learn_shape(spec.learn_threshold, neurons),
                             false);
    threshold_param_->value.fill(static_cast<Real>(std::atanh(spec.threshold)));
  }
  if (spec.learn_decay != NeuronSpec::Learn::none) {
    decay_param_.emplace(layer_name + ".decay", learn_shape(spec.learn_decay, neurons), false);
    decay_param_->value.fill(static_cast<Real>(std::log(spec.decay / (1.0 - spec.decay))));
  }
  refresh_constants();
}

template <typename Real>
std::vector<Parameter<Real>*> NeuronPopulation<Real>::parameters() {
  std::vector<Parameter<Real>*> list;
  if (threshold_param_) list.push_back(&*threshold_param_);
  if (decay_param_) list.push_back(&*decay_param_);
  return list;
}

template <typename Real>
Real NeuronPopulation<Real>::base_threshold(std::size_t neuron) const {
  return theta0_[neuron];
}

template <typename Real>
Real NeuronPopulation<Real>::decay(std::size_t neuron) const {
  return beta_[neuron];
}

template <typename Real>
double NeuronPopulation<Real>::mean_threshold_scale() const {
  double sum = 0.0;
  for (const double s : neuron_scale_) sum += s;
  return neurons_ ? threshold_scale_ * sum / static_cast<double>(neurons_) : threshold_scale_;
}

template <typename Real>
void NeuronPopulation<Real>::refresh_constants() {
  for (std::size_t j = 0; j < neurons_; ++j) {
    scale_[j] = static_cast<Real>(threshold_scale_ * neuron_scale_[j]);
    if (threshold_param_) {
      const auto& w = threshold_param_->value;
      theta0_[j] = std::tanh(w[w.size() == 1 ? 0 : j]);
    } else {
      theta0_[j] = static_cast<Real>(spec_.threshold);
    }
    if (decay_param_) {
      const auto& w = decay_param_->value;
      beta_[j] = Real{1} / (Real{1} + std::exp(-w[w.size() == 1 ? 0 : j]));
    } else {
      beta_[j] = static_cast<Real>(spec_.decay);
    }
  }
}

template <typename Real>
LifConstants<Real> NeuronPopulation<Real>::constants() const {
  return {neurons_,
          beta_.data(),
          theta0_.data(),
          scale_.data(),
          static_cast<Real>(spec_.adaptation_decay),
          static_cast<Real>(spec_.adaptation_strength),
          spec_.reset,
          spec_.detach_reset,
          spec_.adaptive,
          std::max(spec_.refractory_steps, constraints_.refractory_steps),
          constraints_.cap_window > 0 ? constraints_.cap_spikes : 0,
          constraints_.cap_window};
}

template <typename Real>
void NeuronPopulation<Real>::begin_forward(std::size_t steps, std::size_t batch) {
  steps_ = steps;
  batch_ = batch;
  refresh_constants();
  const Shape shape{steps, batch, neurons_};
  membrane_.resize(shape);
  if (spec_.adaptive) adaptation_.resize(shape);
  const LifConstants<Real> k = constants();
  if (k.constrained() || constraints_.winners > 0) {
    open_mask_.assign(shape_size(shape), 1);
  } else {
    open_mask_.clear();
  }
  // The kernel reads both counters whenever the population is constrained.
  refractory_left_.assign(k.constrained() ? batch * neurons_ : 0, 0);
  window_count_.assign(k.constrained() ? batch * neurons_ : 0, 0);
}

template <typename Real>
void NeuronPopulation<Real>::forward_steps(const Tensor<Real>& current, Tensor<Real>& spikes,
                                           std::size_t t_begin, std::size_t t_end) {
  const std::size_t slice = batch_ * neurons_;
  const LifConstants<Real> k = constants();
  const Real* in = current.data();
  Real* v = membrane_.data();
  Real* z = spikes.data();
  Real* a = spec_.adaptive ? adaptation_.data() : nullptr;
  std::uint8_t* mask = open_mask_.empty() ? nullptr : open_mask_.data();
  std::uint16_t* left = refractory_left_.empty() ? nullptr : refractory_left_.data();
  std::uint16_t* window = window_count_.empty() ? nullptr : window_count_.data();
  const std::size_t cap_window = k.cap_window;
  const auto step = [&](const auto& spike, std::size_t t, std::size_t begin, std::size_t end) {
    const std::size_t at = t * slice;
    const std::size_t prev = at - slice;
    const bool first = t == 0;
    const Real* leaving =
        cap_window > 0 && t >= cap_window ? z + (t - cap_window) * slice : nullptr;
    lif_forward_step(k, spike, begin, end, in + at, first ? nullptr : v + prev,
                     first ? nullptr : z + prev, first || !a ? nullptr : a + prev, leaving, v + at,
                     z + at, a ? a + at : nullptr, mask ? mask + at : nullptr, left, window);
  };
  const std::size_t winners = constraints_.winners;
  with_fire_function<Real>(spec_.surrogate, [&](const auto& spike) {
    if (winners == 0) {
      for_each_element_block(slice, t_end - t_begin, [&](std::size_t begin, std::size_t end) {
        for (std::size_t t = t_begin; t < t_end; ++t) step(spike, t, begin, end);
      });
      return;
    }
    // k-WTA couples the neurons of a sample within a step: one work item per sample.
    const bool parallel = slice * (t_end - t_begin) >= kMinParallelWork;
#pragma omp parallel if (parallel)
    {
      std::vector<std::pair<Real, std::size_t>> order;
#pragma omp for schedule(static)
      for (std::size_t b = 0; b < batch_; ++b) {
        const std::size_t begin = b * neurons_;
        for (std::size_t t = t_begin; t < t_end; ++t) {
          step(spike, t, begin, begin + neurons_);
          const std::size_t at = t * slice;
          lif_k_winners(k, winners, begin, v + at, a ? a + at : nullptr, z + at, mask + at, order);
        }
      }
    }
  });
}

template <typename Real>
void NeuronPopulation<Real>::begin_backward() {
  const std::size_t slice = batch_ * neurons_;
  carry_v_.assign(slice, Real{0});
  carry_a_.assign(spec_.adaptive ? slice : 0, Real{0});
  grad_theta_elem_.assign(threshold_param_ ? slice : 0, Real{0});
  grad_beta_elem_.assign(decay_param_ ? slice : 0, Real{0});
}

template <typename Real>
void NeuronPopulation<Real>::backward_steps(const Tensor<Real>& spikes,
                                            const Tensor<Real>& grad_spikes,
                                            Tensor<Real>& grad_current, std::size_t t_begin,
                                            std::size_t t_end) {
  const std::size_t slice = batch_ * neurons_;
  const LifConstants<Real> k = constants();
  const Real* v = membrane_.data();
  const Real* z = spikes.data();
  const Real* a = spec_.adaptive ? adaptation_.data() : nullptr;
  const std::uint8_t* mask = open_mask_.empty() ? nullptr : open_mask_.data();
  const Real* gz = grad_spikes.data();
  const Real* uniform = uniform_spike_gradient_.data();
  Real* gi = grad_current.data();
  Real* cv = carry_v_.data();
  Real* ca = carry_a_.empty() ? nullptr : carry_a_.data();
  Real* gb = grad_beta_elem_.empty() ? nullptr : grad_beta_elem_.data();
  Real* gt = grad_theta_elem_.empty() ? nullptr : grad_theta_elem_.data();
  with_spike_function<Real>(spec_.surrogate, [&](const auto& spike) {
    for_each_element_block(slice, t_end - t_begin, [&](std::size_t begin, std::size_t end) {
      for (std::size_t t = t_end; t-- > t_begin;) {
        const std::size_t at = t * slice;
        const bool first = t == 0;
        lif_backward_step(k, spike, begin, end, gz + at, uniform, v + at, z + at,
                          a ? a + at : nullptr, mask ? mask + at : nullptr,
                          first ? nullptr : v + at - slice, first ? nullptr : z + at - slice, cv,
                          ca, gi + at, gb, gt);
      }
    });
  });
}

template <typename Real>
void NeuronPopulation<Real>::finish_backward() {
  // Sum per-element contributions over the batch in a fixed order (thread-count independent),
  // then apply the chain rule of the parametrization.
  const auto reduce = [this](const std::vector<Real>& per_element, Parameter<Real>& param,
                             auto&& local_derivative) {
    for (std::size_t j = 0; j < neurons_; ++j) {
      Real sum = Real{0};
      for (std::size_t b = 0; b < batch_; ++b) sum += per_element[b * neurons_ + j];
      const std::size_t slot = param.value.size() == 1 ? 0 : j;
      param.grad[slot] += sum * local_derivative(j);
    }
  };
  if (threshold_param_) {
    reduce(grad_theta_elem_, *threshold_param_,
           [this](std::size_t j) { return Real{1} - theta0_[j] * theta0_[j]; });
  }
  if (decay_param_) {
    reduce(grad_beta_elem_, *decay_param_,
           [this](std::size_t j) { return beta_[j] * (Real{1} - beta_[j]); });
  }
}

template class NeuronPopulation<float>;
template class NeuronPopulation<double>;

}  // namespace homeostat
