// Optimizers over a parameter list: SGD with (Nesterov) momentum, Adam and AdamW, with optional
// global gradient-norm clipping. L2 weight decay (SGD, Adam: added to the gradient) or decoupled
// decay (AdamW: w -= lr * wd * w) applies only to parameters marked weight_decay (weights).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tensor/parameter.hpp"

namespace homeostat {

enum class OptimizerKind { sgd, adam, adamw };
OptimizerKind parse_optimizer_kind(std::string_view name);

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::adam;
  double learning_rate = 1e-3;
  double momentum = 0.9;  // sgd
  bool nesterov = false;  // sgd
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
  double clip_grad_norm = 0.0;  // 0: no clipping
};

template <typename Real>
class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, std::vector<Parameter<Real>*> parameters);

  // One update with learning rate `learning_rate` (the schedule's value for this step).
  // Returns the global gradient norm before clipping. A non-finite norm is returned without
  // touching any parameter, so the caller can stop with the last good state intact.
  double step(double learning_rate);

  [[nodiscard]] std::uint64_t steps_taken() const { return steps_; }
  // State for checkpoints: the moment buffers, one per parameter, in parameter order.
  std::vector<std::vector<Real>>& first_moments() { return first_; }
  std::vector<std::vector<Real>>& second_moments() { return second_; }
  void set_steps_taken(std::uint64_t steps) { steps_ = steps; }

 private:
  OptimizerSpec spec_;
  std::vector<Parameter<Real>*> parameters_;
  std::vector<std::vector<Real>> first_;   // momentum / Adam m
  std::vector<std::vector<Real>> second_;  // Adam v
  std::uint64_t steps_ = 0;
};

// Global L2 norm of all gradients, summed in a fixed order.
template <typename Real>
double gradient_norm(const std::vector<Parameter<Real>*>& parameters);

}  // namespace homeostat
