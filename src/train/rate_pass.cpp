#include "train/rate_pass.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "common/error.hpp"
#include "layer/readout.hpp"
#include "layer/spiking.hpp"
#include "neuron/model.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

ConfigError unsupported(const std::string& layer, const std::string& what) {
  return ConfigError("train.method = \"rate\": layer '" + layer + "' " + what +
                     " (rate-based training supports dense, conv2d, maxpool, avgpool, dropout, "
                     "readout and lif layers without adaptation, refractory period or learnable "
                     "thresholds/decays; use train.method = \"bptt\")");
}

template <typename Real>
Shape step_shape(std::size_t batch, const Shape& features) {
  Shape shape{1, batch};
  shape.insert(shape.end(), features.begin(), features.end());
  return shape;
}

}  // namespace

std::string rate_training_obstacle(const std::vector<LayerSpec>& layers, LossKind loss,
                                   const std::vector<RegulatorSpec>& regulators) {
  for (const LayerSpec& layer : layers) {
    const std::string name = "layer '" + layer.name + "' ";
    switch (layer.kind) {
      case LayerKind::recurrent:
      case LayerKind::tebn:
      case LayerKind::moderate_dropout:
        return name + "is of kind '" + std::string(layer_kind_name(layer.kind)) +
               "'; rate-based training covers dense, conv2d, maxpool, avgpool, dropout, lif and "
               "readout layers";
      case LayerKind::lif: {
        const std::string why = neuron_model(layer.neuron.model).rate_pass_obstacle(layer.neuron);
        if (!why.empty()) return name + why;
        break;
      }
      default:
        break;
    }
  }
  if (loss == LossKind::count || loss == LossKind::count_plus) {
    // The counting losses place their error on individual time steps, which the rate pass
    // does not have.
    return "loss '" + std::string(loss_kind_name(loss)) +
           "' is time-based; use ce_count, mse_count or a readout loss";
  }
  if (loss == LossKind::ce_max_membrane &&
      (layers.empty() || layers.back().kind != LayerKind::readout)) {
    return "loss ce_max_membrane needs a readout as the last layer";
  }
  for (const RegulatorSpec& regulator : regulators) {
    const RegulatorKind* kind = find_regulator_kind(regulator.kind);
    if (kind && kind->channel == RegulatorChannel::constraint) {
      return "regulator '" + regulator.kind + "' constrains spike generation step by step";
    }
  }
  return {};
}

template <typename Real>
RatePass<Real>::RatePass(Network<Real>& network, const LossSpec& loss)
    : network_(network), loss_(loss), config_loss_(loss) {
  layers_.resize(network.layer_count());
  for (std::size_t i = 0; i < network.layer_count(); ++i) {
    Layer<Real>& layer = network.layer(i);
    const std::string_view kind = layer.kind();
    if (dynamic_cast<const SpikingLayer<Real>*>(&layer) != nullptr) {
      const std::string why = layer.neurons()->rate_pass_obstacle();
      if (!why.empty()) throw unsupported(layer.name(), why);
      layers_[i].role = Role::neuron;
    } else if (kind == "readout") {
      layers_[i].role = Role::readout;
    } else if (kind == "dense" || kind == "conv2d" || kind == "maxpool" || kind == "avgpool" ||
               kind == "dropout" || kind == "conv2d_maxpool") {  // fused: layer/conv_pool.hpp
      layers_[i].role = Role::other;
    } else {
      throw unsupported(layer.name(), "is of kind '" + std::string(kind) + "'");
    }
  }
  if (layers_.empty()) throw ConfigError("the network has no layers");
  if (loss.kind == LossKind::ce_max_membrane) {
    if (layers_.back().role != Role::readout) {
      throw ConfigError(
          "train.method = \"rate\" with loss ce_max_membrane needs a readout as the last layer");
    }
    readout_max_ = true;
  }
}

template <typename Real>
void RatePass<Real>::spike_pass(const Tensor<Real>& input, const RunContext& context) {
  const std::size_t per_step = input.stride0();
  const Shape features(input.shape().begin() + 2, input.shape().end());
  spike_pass(
      input.dim(0), input.dim(1),
      [&](std::size_t t_begin, std::size_t count, Tensor<Real>& chunk) {
        Shape shape = step_shape<Real>(input.dim(1), features);
        shape[0] = count;
        chunk.resize(shape);
        std::copy_n(input.data() + t_begin * per_step, count * per_step, chunk.data());
      },
      context);
}

template <typename Real>
void RatePass<Real>::spike_pass(std::size_t steps, std::size_t batch, const ChunkInput& input,
                                const RunContext& context) {
  if (steps == 0 || batch == 0) throw Error("rate pass: empty batch");
  const Clock::time_point start = Clock::now();
  steps_ = steps;
  batch_ = batch;
  context_ = context;
  summary_scale_ =
      (config_loss_.kind == LossKind::ce_count || config_loss_.kind == LossKind::mse_count)
          ? static_cast<Real>(steps)
          : Real{1};
  loss_ = config_loss_;
  if (loss_.kind == LossKind::mse_count) {
    // The summary holds spike counts in one step, so the target counts T r move into the rates.
    loss_.on_rate *= static_cast<double>(steps);
    loss_.off_rate *= static_cast<double>(steps);
  }
  const Shape input_features = network_.input_shape();
  mean_input_.resize(step_shape<Real>(batch, input_features));
  mean_input_.zero();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    LayerState& state = layers_[i];
    if (state.role == Role::other) continue;
    const Shape shape = step_shape<Real>(batch, network_.layer(i).output_shape());
    const std::size_t size = shape_size(shape);
    state.rate.resize(shape);
    state.rate.zero();
    state.elig.resize(shape);
    state.elig.zero();
    state.v.assign(size, Real{0});
    state.z.assign(size, Real{0});
    state.eps.assign(size, Real{0});
    state.slope.assign(size, Real{0});
    if (state.role != Role::neuron) continue;
    // Per-neuron constants of this pass: theta_j = s_j theta0_j, beta_j.
    NeuronPopulation<Real>& population = *network_.layer(i).neurons();
    const typename NeuronPopulation<Real>::Constraints& c = population.constraints();
    if (c.refractory_steps > 0 || c.cap_window > 0 || c.winners > 0) {
      throw unsupported(network_.layer(i).name(),
                        "is under a firing constraint (constraint-channel regulator)");
    }
    state.theta.resize(population.size());
    state.beta.resize(population.size());
    for (std::size_t j = 0; j < population.size(); ++j) {
      state.theta[j] = static_cast<Real>(population.threshold_scale() *
                                         population.neuron_threshold_scales()[j]) *
                       population.base_threshold(j);
      state.beta[j] = population.decay(j);
    }
  }
  const std::size_t per_step = mean_input_.size();
  for (std::size_t t_begin = 0; t_begin < steps; t_begin += kChunkSteps) {
    const std::size_t count = std::min(kChunkSteps, steps - t_begin);
    input(t_begin, count, step_input_);
    if (step_input_.size() != count * per_step) {
      throw Error("rate pass: input chunk of " + shape_string(step_input_.shape()) + " for " +
                  std::to_string(count) + " steps but the network expects " +
                  shape_string(mean_input_.shape()) + " per step");
    }
    Real* mean = mean_input_.data();
    for (std::size_t t = 0; t < count; ++t) {
      const Real* x = step_input_.data() + t * per_step;
      for (std::size_t e = 0; e < per_step; ++e) mean[e] += x[e];
    }
    const Tensor<Real>* current = &step_input_;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      LayerState& state = layers_[i];
      switch (state.role) {
        case Role::neuron:
          neuron_chunk(i, *current, count);
          break;
        case Role::readout:
          readout_chunk(i, *current, t_begin, count);
          break;
        case Role::other:
          network_.layer(i).forward(*current, state.step_output, context);
          break;
      }
      current = &state.step_output;
    }
  }
  const Real inverse = Real{1} / static_cast<Real>(steps);
  for (Real& m : mean_input_.span()) m *= inverse;
  for (LayerState& state : layers_) {
    if (state.role == Role::neuron || (state.role == Role::readout && !readout_max_)) {
      for (Real& r : state.rate.span()) r *= inverse;
      for (Real& e : state.elig.span()) e *= inverse;
    }
  }
  spike_pass_ms_ = milliseconds_since(start);
}

template <typename Real>
void RatePass<Real>::neuron_chunk(std::size_t index, const Tensor<Real>& current,
                                  std::size_t count) {
  LayerState& state = layers_[index];
  NeuronPopulation<Real>& population = *network_.layer(index).neurons();
  const std::size_t slice = batch_ * population.size();
  if (current.size() != count * slice) throw Error("rate pass: neuron input size mismatch");
  state.step_output.resize(current.shape());
  population.rate_steps({batch_, count, current.data(), state.step_output.data(), state.v.data(),
                         state.z.data(), state.eps.data(), state.slope.data(), state.theta.data(),
                         state.beta.data(), state.rate.data(), state.elig.data()});
}

template <typename Real>
void RatePass<Real>::readout_chunk(std::size_t index, const Tensor<Real>& current,
                                   std::size_t t_begin, std::size_t count) {
  LayerState& state = layers_[index];
  const auto& readout = dynamic_cast<const ReadoutLayer<Real>&>(network_.layer(index));
  const Real beta = readout.decay();
  const std::size_t size = state.v.size();
  if (current.size() != count * size) throw Error("rate pass: readout input size mismatch");
  state.step_output.resize(current.shape());
  for (std::size_t t = 0; t < count; ++t)
    for (std::size_t e = 0; e < size; ++e) {
      const std::size_t te = t * size + e;
      const Real v_now = beta * state.v[e] + current[te];
      const Real eps_now = Real{1} + beta * state.eps[e];
      state.v[e] = v_now;
      state.eps[e] = eps_now;
      state.step_output[te] = v_now;
      if (readout_max_) {
        if (t_begin + t == 0 || v_now > state.rate[e]) {
          state.rate[e] = v_now;
          state.elig[e] = eps_now;
        }
      } else {
        state.rate[e] += v_now;
        state.elig[e] += eps_now;
      }
    }
}

template <typename Real>
void RatePass<Real>::rate_forward(bool anchor) {
  if (steps_ == 0) throw std::logic_error("RatePass::rate_forward called before spike_pass");
  const Clock::time_point start = Clock::now();
  const Tensor<Real>* current = &mean_input_;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    LayerState& state = layers_[i];
    if (state.role == Role::other) {
      network_.layer(i).forward(*current, state.value, context_);
    } else {
      if (current->size() != state.rate.size()) throw Error("rate pass: layer size mismatch");
      if (anchor) {
        state.anchor.resize(state.rate.shape());
        std::copy_n(current->data(), current->size(), state.anchor.data());
      }
      state.value.resize(state.rate.shape());
      const Real* c = current->data();
      const Real* c0 = state.anchor.data();
      const Real* r = state.rate.data();
      const Real* e = state.elig.data();
      Real* y = state.value.data();
      for (std::size_t k = 0; k < state.value.size(); ++k) y[k] = r[k] + e[k] * (c[k] - c0[k]);
    }
    current = &state.value;
  }
  const Tensor<Real>& last = layers_.back().value;
  const std::size_t classes = last.size() / batch_;
  summary_.resize({1, batch_, classes});
  for (std::size_t k = 0; k < last.size(); ++k) summary_[k] = summary_scale_ * last[k];
  rate_pass_ms_ = milliseconds_since(start);
}

template <typename Real>
void RatePass<Real>::backward(const Tensor<Real>& grad_summary,
                              const typename Network<Real>::SpikeGradientHook& hook) {
  const Clock::time_point start = Clock::now();
  LayerState& last = layers_.back();
  if (grad_summary.size() != last.value.size()) throw Error("rate pass: gradient size mismatch");
  last.grad.resize(last.value.shape());
  for (std::size_t k = 0; k < last.grad.size(); ++k)
    last.grad[k] = summary_scale_ * grad_summary[k];
  for (std::size_t i = layers_.size(); i-- > 0;) {
    LayerState& state = layers_[i];
    Tensor<Real>* grad_input = i == 0 ? nullptr : &layers_[i - 1].grad;
    if (state.role == Role::other) {
      const Tensor<Real>& input = i == 0 ? mean_input_ : layers_[i - 1].value;
      network_.layer(i).backward(input, state.value, state.grad, grad_input);
      continue;
    }
    Real* g = state.grad.data();
    const std::size_t size = state.grad.size();
    if (state.role == Role::neuron && hook) {
      // dL/dz_t += u_j at every step and sample: dL/dr += T u_j.
      std::vector<Real>& uniform = network_.layer(i).neurons()->uniform_spike_gradient();
      std::fill(uniform.begin(), uniform.end(), Real{0});
      hook(i, uniform);
      const std::size_t neurons = uniform.size();
      const auto steps = static_cast<Real>(steps_);
      for (std::size_t k = 0; k < size; ++k) g[k] += steps * uniform[k % neurons];
    }
    if (!grad_input) continue;
    grad_input->resize(i == 0 ? mean_input_.shape() : layers_[i - 1].value.shape());
    const Real* e = state.elig.data();
    Real* gc = grad_input->data();
    for (std::size_t k = 0; k < size; ++k) gc[k] = g[k] * e[k];
  }
  rate_pass_ms_ += milliseconds_since(start);
}

template <typename Real>
std::vector<const Tensor<Real>*> RatePass<Real>::spiking_rates() const {
  std::vector<const Tensor<Real>*> list;
  for (const LayerState& state : layers_) {
    if (state.role == Role::neuron) list.push_back(&state.rate);
  }
  return list;
}

template <typename Real>
std::size_t RatePass<Real>::backward_buffer_bytes() const {
  std::size_t elements = mean_input_.size() + summary_.size();
  for (const LayerState& state : layers_) {
    elements += state.v.size() + state.z.size() + state.eps.size() + state.slope.size() +
                state.rate.size() + state.elig.size() + state.anchor.size() + state.value.size() +
                state.grad.size();
  }
  return elements * sizeof(Real);
}

template <typename Real>
std::size_t RatePass<Real>::workspace_bytes() const {
  std::size_t elements = step_input_.size();
  for (const LayerState& state : layers_) elements += state.step_output.size();
  return elements * sizeof(Real);
}

template class RatePass<float>;
template class RatePass<double>;

}  // namespace homeostat
