// ModelPopulation<Model, Real>: the NeuronPopulation of a model of the LIF family (the contract
// is in neuron/model.hpp). It owns what every such model shares: the learnable base threshold
// and decay, the membrane v [T, B, N], the ALIF adaptation a [T, B, N], the open mask and the
// counters of the constraint channel, the carries of v and a, and the per-element parameter
// gradients; it runs the model's kernels over fixed blocks of B*N elements in parallel with
// OpenMP, each block through a range of steps, and applies k-WTA after each step. The model's
// type is a template parameter: its kernels inline into the block loops, dispatched once per
// call on the surrogate and the flags (lif.hpp), never per neuron or step.
// describe_model<Model>() makes the model's table entry (neuron/models.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "neuron/lif.hpp"
#include "neuron/model.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {
namespace population_detail {

// Elements per OpenMP work item: large enough to amortize scheduling, small enough that a
// block's state stays in L1/L2 while it is scanned through time.
constexpr std::size_t kBlock = 512;

inline Shape learn_shape(NeuronSpec::Learn learn, std::size_t neurons) {
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

}  // namespace population_detail

template <typename Model, typename Real>
class ModelPopulation final : public NeuronPopulation<Real> {
 public:
  ModelPopulation(const std::string& layer_name, std::size_t neurons, const NeuronSpec& spec);

  std::vector<Parameter<Real>*> parameters() override;
  [[nodiscard]] Real base_threshold(std::size_t neuron) const override { return theta0_[neuron]; }
  [[nodiscard]] Real decay(std::size_t neuron) const override { return beta_[neuron]; }

  void begin_forward(std::size_t steps, std::size_t batch) override;
  void forward_steps(const Tensor<Real>& input, Tensor<Real>& spikes, std::size_t t_begin,
                     std::size_t t_end) override;
  void begin_backward() override;
  void backward_steps(const Tensor<Real>& spikes, const Tensor<Real>& grad_spikes,
                      Tensor<Real>& grad_input, std::size_t t_begin, std::size_t t_end) override;
  void finish_backward() override;

  [[nodiscard]] const Tensor<Real>& membrane() const override { return membrane_; }

  [[nodiscard]] std::string rate_pass_obstacle() const override {
    return Model::rate_pass_obstacle(this->spec());
  }
  void rate_steps(const RateSteps<Real>& steps) override;

 private:
  LifConstants<Real> constants() const;
  void refresh_constants();

  std::vector<Real> scale_;                         // [N] layer scale x neuron scale
  std::optional<Parameter<Real>> threshold_param_;  // w, theta0 = tanh(w): [1] or [N]
  std::optional<Parameter<Real>> decay_param_;      // w, beta = sigmoid(w): [1] or [N]
  std::vector<Real> theta0_;                        // [N]
  std::vector<Real> beta_;                          // [N]
  typename Model::template State<Real> state_;      // the model's own state

  std::size_t steps_ = 0;
  std::size_t batch_ = 0;
  Tensor<Real> membrane_;                               // [T, B, N]
  Tensor<Real> adaptation_;                             // [T, B, N], ALIF only
  std::vector<std::uint8_t> open_mask_;                 // [T*B*N], constrained only
  std::vector<std::uint16_t> refractory_left_;          // [B*N]
  std::vector<std::uint16_t> window_count_;             // [B*N], constrained only
  std::vector<Real> carry_v_, carry_a_;                 // [B*N]
  std::vector<Real> grad_beta_elem_, grad_theta_elem_;  // [B*N]
};

template <typename Model, typename Real>
ModelPopulation<Model, Real>::ModelPopulation(const std::string& layer_name, std::size_t neurons,
                                              const NeuronSpec& spec)
    : NeuronPopulation<Real>(spec, neurons),
      scale_(neurons, Real{1}),
      theta0_(neurons),
      beta_(neurons),
      state_(spec) {
  using population_detail::learn_shape;
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

template <typename Model, typename Real>
std::vector<Parameter<Real>*> ModelPopulation<Model, Real>::parameters() {
  std::vector<Parameter<Real>*> list;
  if (threshold_param_) list.push_back(&*threshold_param_);
  if (decay_param_) list.push_back(&*decay_param_);
  return list;
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::refresh_constants() {
  const double layer_scale = this->threshold_scale();
  const std::vector<double>& neuron_scale = this->neuron_threshold_scales();
  const NeuronSpec& spec = this->spec();
  for (std::size_t j = 0; j < this->size(); ++j) {
    scale_[j] = static_cast<Real>(layer_scale * neuron_scale[j]);
    if (threshold_param_) {
      const auto& w = threshold_param_->value;
      theta0_[j] = std::tanh(w[w.size() == 1 ? 0 : j]);
    } else {
      theta0_[j] = static_cast<Real>(spec.threshold);
    }
    if (decay_param_) {
      const auto& w = decay_param_->value;
      beta_[j] = Real{1} / (Real{1} + std::exp(-w[w.size() == 1 ? 0 : j]));
    } else {
      beta_[j] = static_cast<Real>(spec.decay);
    }
  }
}

template <typename Model, typename Real>
LifConstants<Real> ModelPopulation<Model, Real>::constants() const {
  const NeuronSpec& spec = this->spec();
  const typename NeuronPopulation<Real>::Constraints& c = this->constraints();
  return {this->size(),
          beta_.data(),
          theta0_.data(),
          scale_.data(),
          static_cast<Real>(spec.adaptation_decay),
          static_cast<Real>(spec.adaptation_strength),
          spec.reset,
          spec.detach_reset,
          spec.adaptive,
          std::max(spec.refractory_steps, c.refractory_steps),
          c.cap_window > 0 ? c.cap_spikes : 0,
          c.cap_window};
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::begin_forward(std::size_t steps, std::size_t batch) {
  const std::size_t neurons = this->size();
  steps_ = steps;
  batch_ = batch;
  refresh_constants();
  const Shape shape{steps, batch, neurons};
  membrane_.resize(shape);
  if (this->spec().adaptive) adaptation_.resize(shape);
  state_.begin_forward(steps, batch, neurons);
  const LifConstants<Real> k = constants();
  if (k.constrained() || this->constraints().winners > 0) {
    open_mask_.assign(shape_size(shape), 1);
  } else {
    open_mask_.clear();
  }
  // The kernel reads both counters whenever the population is constrained.
  refractory_left_.assign(k.constrained() ? batch * neurons : 0, 0);
  window_count_.assign(k.constrained() ? batch * neurons : 0, 0);
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::forward_steps(const Tensor<Real>& input, Tensor<Real>& spikes,
                                                 std::size_t t_begin, std::size_t t_end) {
  const std::size_t neurons = this->size();
  const std::size_t slice = batch_ * neurons;
  const LifConstants<Real> k = constants();
  const Real* in = input.data();
  Real* v = membrane_.data();
  Real* z = spikes.data();
  Real* a = this->spec().adaptive ? adaptation_.data() : nullptr;
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
    Model::forward_step(
        k, spike, state_,
        ForwardStep<Real>{t, slice, begin, end, in + at, first ? nullptr : v + prev,
                          first ? nullptr : z + prev, first || !a ? nullptr : a + prev, leaving,
                          v + at, z + at, a ? a + at : nullptr, mask ? mask + at : nullptr, left,
                          window});
  };
  const std::size_t winners = this->constraints().winners;
  const std::size_t batch = batch_;
  with_fire_function<Real>(this->spec().surrogate, [&](const auto& spike) {
    if (winners == 0) {
      population_detail::for_each_element_block(slice, t_end - t_begin,
                                                [&](std::size_t begin, std::size_t end) {
                                                  for (std::size_t t = t_begin; t < t_end; ++t)
                                                    step(spike, t, begin, end);
                                                });
      return;
    }
    // k-WTA couples the neurons of a sample within a step: one work item per sample.
    const bool parallel = slice * (t_end - t_begin) >= kMinParallelWork;
#pragma omp parallel if (parallel)
    {
      std::vector<std::pair<Real, std::size_t>> order;
#pragma omp for schedule(static)
      for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t begin = b * neurons;
        for (std::size_t t = t_begin; t < t_end; ++t) {
          step(spike, t, begin, begin + neurons);
          const std::size_t at = t * slice;
          lif_k_winners(k, winners, begin, v + at, a ? a + at : nullptr, z + at, mask + at, order);
        }
      }
    }
  });
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::begin_backward() {
  const std::size_t slice = batch_ * this->size();
  carry_v_.assign(slice, Real{0});
  carry_a_.assign(this->spec().adaptive ? slice : 0, Real{0});
  grad_theta_elem_.assign(threshold_param_ ? slice : 0, Real{0});
  grad_beta_elem_.assign(decay_param_ ? slice : 0, Real{0});
  state_.begin_backward(slice);
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::backward_steps(const Tensor<Real>& spikes,
                                                  const Tensor<Real>& grad_spikes,
                                                  Tensor<Real>& grad_input, std::size_t t_begin,
                                                  std::size_t t_end) {
  const std::size_t slice = batch_ * this->size();
  const LifConstants<Real> k = constants();
  const Real* v = membrane_.data();
  const Real* z = spikes.data();
  const Real* a = this->spec().adaptive ? adaptation_.data() : nullptr;
  const std::uint8_t* mask = open_mask_.empty() ? nullptr : open_mask_.data();
  const Real* gz = grad_spikes.data();
  const Real* uniform = this->uniform_spike_gradient().data();
  Real* gi = grad_input.data();
  Real* cv = carry_v_.data();
  Real* ca = carry_a_.empty() ? nullptr : carry_a_.data();
  Real* gb = grad_beta_elem_.empty() ? nullptr : grad_beta_elem_.data();
  Real* gt = grad_theta_elem_.empty() ? nullptr : grad_theta_elem_.data();
  with_spike_function<Real>(this->spec().surrogate, [&](const auto& spike) {
    population_detail::for_each_element_block(
        slice, t_end - t_begin, [&](std::size_t begin, std::size_t end) {
          for (std::size_t t = t_end; t-- > t_begin;) {
            const std::size_t at = t * slice;
            const bool first = t == 0;
            Model::backward_step(
                k, spike, state_,
                BackwardStep<Real>{t, slice, begin, end, gz + at, uniform, v + at, z + at,
                                   a ? a + at : nullptr, mask ? mask + at : nullptr,
                                   first ? nullptr : v + at - slice,
                                   first ? nullptr : z + at - slice, cv, ca, gi + at, gb, gt});
          }
        });
  });
}

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::finish_backward() {
  // Sum per-element contributions over the batch in a fixed order (thread-count independent),
  // then apply the chain rule of the parametrization.
  const std::size_t neurons = this->size();
  const auto reduce = [this, neurons](const std::vector<Real>& per_element, Parameter<Real>& param,
                                      auto&& local_derivative) {
    for (std::size_t j = 0; j < neurons; ++j) {
      Real sum = Real{0};
      for (std::size_t b = 0; b < batch_; ++b) sum += per_element[b * neurons + j];
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

template <typename Model, typename Real>
void ModelPopulation<Model, Real>::rate_steps(const RateSteps<Real>& steps) {
  if constexpr (requires { Model::rate_steps(this->spec(), this->size(), steps); }) {
    Model::rate_steps(this->spec(), this->size(), steps);
  } else {
    throw std::logic_error("rate_steps: the " + std::string(Model::kName) +
                           " model has no rate-pass kernel (rate_pass_obstacle says so)");
  }
}

// The model's entry in the model table (neuron/models.cpp).
template <typename Model>
NeuronModel describe_model() {
  return {Model::kName,
          Model::kSummary,
          &Model::read_keys,
          &Model::rate_pass_obstacle,
          &Model::leaky_integrator,
          [](const std::string& layer_name, std::size_t neurons,
             const NeuronSpec& spec) -> std::unique_ptr<NeuronPopulation<float>> {
            return std::make_unique<ModelPopulation<Model, float>>(layer_name, neurons, spec);
          },
          [](const std::string& layer_name, std::size_t neurons,
             const NeuronSpec& spec) -> std::unique_ptr<NeuronPopulation<double>> {
            return std::make_unique<ModelPopulation<Model, double>>(layer_name, neurons, spec);
          }};
}

}  // namespace homeostat
