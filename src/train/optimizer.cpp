#include "train/optimizer.hpp"

#include <cmath>
#include <string>

#include "common/error.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {

OptimizerKind parse_optimizer_kind(std::string_view name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw ConfigError("unknown optimizer '" + std::string(name) + "' (valid: sgd, adam, adamw)");
}

template <typename Real>
double gradient_norm(const std::vector<Parameter<Real>*>& parameters) {
  double sum = 0.0;
  for (const Parameter<Real>* p : parameters) {
    for (std::size_t i = 0; i < p->grad.size(); ++i) {
      const double g = static_cast<double>(p->grad[i]);
      sum += g * g;
    }
  }
  return std::sqrt(sum);
}

template <typename Real>
Optimizer<Real>::Optimizer(const OptimizerSpec& spec, std::vector<Parameter<Real>*> parameters)
    : spec_(spec), parameters_(std::move(parameters)) {
  for (const Parameter<Real>* p : parameters_) {
    first_.emplace_back(p->value.size(), Real{0});
    second_.emplace_back(spec_.kind == OptimizerKind::sgd ? 0 : p->value.size(), Real{0});
  }
}

template <typename Real>
double Optimizer<Real>::step(double learning_rate) {
  const double norm = gradient_norm(parameters_);
  if (!std::isfinite(norm)) return norm;  // leave the parameters untouched; the caller stops
  const double clip = spec_.clip_grad_norm > 0.0 && norm > spec_.clip_grad_norm
                          ? spec_.clip_grad_norm / (norm + 1e-12)
                          : 1.0;
  ++steps_;
  const auto lr = static_cast<Real>(learning_rate);
  const auto wd = static_cast<Real>(spec_.weight_decay);
  const auto b1 = static_cast<Real>(spec_.beta1);
  const auto b2 = static_cast<Real>(spec_.beta2);
  const auto eps = static_cast<Real>(spec_.epsilon);
  const auto momentum = static_cast<Real>(spec_.momentum);
  const Real correction1 =
      Real{1} - static_cast<Real>(std::pow(spec_.beta1, static_cast<double>(steps_)));
  const Real correction2 =
      Real{1} - static_cast<Real>(std::pow(spec_.beta2, static_cast<double>(steps_)));
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    Parameter<Real>& p = *parameters_[k];
    Real* w = p.value.data();
    const Real* grad = p.grad.data();
    Real* m = first_[k].data();
    Real* v = second_[k].data();
    const Real decay = p.weight_decay ? wd : Real{0};
    const std::size_t n = p.value.size();
    const auto scale = static_cast<Real>(clip);
    switch (spec_.kind) {
      case OptimizerKind::sgd:
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
        for (std::size_t i = 0; i < n; ++i) {
          const Real g = grad[i] * scale + decay * w[i];
          m[i] = momentum * m[i] + g;
          w[i] -= lr * (spec_.nesterov ? g + momentum * m[i] : m[i]);
        }
        break;
      case OptimizerKind::adam:
      case OptimizerKind::adamw: {
        const bool decoupled = spec_.kind == OptimizerKind::adamw;
#pragma omp parallel for schedule(static) if (n >= kMinParallelWork)
        for (std::size_t i = 0; i < n; ++i) {
          const Real g = grad[i] * scale + (decoupled ? Real{0} : decay * w[i]);
          if (decoupled) w[i] -= lr * decay * w[i];
          m[i] = b1 * m[i] + (Real{1} - b1) * g;
          v[i] = b2 * v[i] + (Real{1} - b2) * g * g;
          w[i] -= lr * (m[i] / correction1) / (std::sqrt(v[i] / correction2) + eps);
        }
        break;
      }
    }
  }
  return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;
template double gradient_norm(const std::vector<Parameter<float>*>&);
template double gradient_norm(const std::vector<Parameter<double>*>&);

}  // namespace homeostat
