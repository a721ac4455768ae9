// The surrogate-gradient family of Herranz-Celotti & Rouat (seed 003, papers.md section 3).
// Forward: z = H(x) with x = v - theta. Backward: dz/dx is replaced by a surrogate with dampening
// gamma (peak height) and sharpness beta (inverse width):
//   fast_sigmoid  gamma / (1 + 2|beta x|)^2        (snnTorch's fast_sigmoid(slope k): beta = k/2)
//   q_tail        gamma / (1 + 2|beta x|/(q-1))^q  (q = 2 is fast_sigmoid; q -> inf: exponential)
//   sigmoid       4 gamma sig(4 beta x)(1 - sig(4 beta x))
//   arctan        gamma / (1 + (pi beta x)^2)
//   triangular    gamma max(0, 1 - |beta x|)
//   exponential   gamma exp(-2|beta x|)
//   gaussian      gamma exp(-pi (beta x)^2)
//   rectangular   gamma 1[|2 beta x| < 1]
// With `smooth_forward` the forward pass itself is sig(4 beta x) and the backward pass its exact
// derivative 4 beta sig (1 - sig): a differentiable network, used by the finite-difference checks.
#pragma once

#include <cmath>
#include <numbers>
#include <string>
#include <string_view>

namespace homeostat {

enum class SurrogateKind {
  fast_sigmoid,
  q_tail,
  sigmoid,
  arctan,
  triangular,
  exponential,
  gaussian,
  rectangular
};

SurrogateKind parse_surrogate_kind(std::string_view name);  // ConfigError lists the valid names
std::string_view surrogate_kind_name(SurrogateKind kind);
inline constexpr std::string_view kSurrogateNames[] = {"fast_sigmoid", "q_tail",     "sigmoid",
                                                       "arctan",       "triangular", "exponential",
                                                       "gaussian",     "rectangular"};

struct SurrogateSpec {
  SurrogateKind kind = SurrogateKind::fast_sigmoid;
  double dampening = 1.0;  // gamma
  double sharpness = 1.0;  // beta
  double tail = 2.0;       // q, q_tail only (> 1)
  bool smooth_forward = false;
};

// One functor per shape, so the neuron kernel is instantiated per shape and stays branch-free.
template <typename Real>
struct SurrogateShape {
  Real gamma;
  Real beta;
  Real q;
};

namespace surrogate {

template <typename Real>
Real logistic(Real x) {
  return Real{1} / (Real{1} + std::exp(-x));
}

template <typename Real>
struct FastSigmoid {
  Real gamma, beta;
  Real operator()(Real x) const {
    const Real d = Real{1} + Real{2} * std::abs(beta * x);
    return gamma / (d * d);
  }
};
template <typename Real>
struct QTail {
  Real gamma, beta, q;
  Real operator()(Real x) const {
    return gamma / std::pow(Real{1} + Real{2} * std::abs(beta * x) / (q - Real{1}), q);
  }
};
template <typename Real>
struct Sigmoid {
  Real gamma, beta;
  Real operator()(Real x) const {
    const Real s = logistic(Real{4} * beta * x);
    return Real{4} * gamma * s * (Real{1} - s);
  }
};
template <typename Real>
struct Arctan {
  Real gamma, beta;
  Real operator()(Real x) const {
    const Real y = std::numbers::pi_v<Real> * beta * x;
    return gamma / (Real{1} + y * y);
  }
};
template <typename Real>
struct Triangular {
  Real gamma, beta;
  Real operator()(Real x) const { return gamma * std::max(Real{0}, Real{1} - std::abs(beta * x)); }
};
template <typename Real>
struct Exponential {
  Real gamma, beta;
  Real operator()(Real x) const { return gamma * std::exp(Real{-2} * std::abs(beta * x)); }
};
template <typename Real>
struct Gaussian {
  Real gamma, beta;
  Real operator()(Real x) const {
    const Real y = beta * x;
    return gamma * std::exp(-std::numbers::pi_v<Real> * y * y);
  }
};
template <typename Real>
struct Rectangular {
  Real gamma, beta;
  Real operator()(Real x) const { return std::abs(Real{2} * beta * x) < Real{1} ? gamma : Real{0}; }
};

// The Heaviside forward alone: every shape fires the same way, so forward kernels need not be
// instantiated per shape.
template <typename Real>
struct HeavisideFire {
  Real fire(Real x) const { return x > Real{0} ? Real{1} : Real{0}; }
};

// Heaviside forward with a surrogate derivative.
template <typename Real, typename Derivative>
struct HeavisideSpike {
  Derivative derivative;
  Real fire(Real x) const { return HeavisideFire<Real>{}.fire(x); }
  Real slope(Real x) const { return derivative(x); }
};

// Smooth forward (logistic) with its exact derivative: for finite-difference checks.
template <typename Real>
struct SmoothSpike {
  Real beta;
  Real fire(Real x) const { return logistic(Real{4} * beta * x); }
  Real slope(Real x) const {
    const Real s = logistic(Real{4} * beta * x);
    return Real{4} * beta * s * (Real{1} - s);
  }
};

}  // namespace surrogate

// Calls `body(spike_function)` with the concrete spike function object for `spec`.
template <typename Real, typename Body>
decltype(auto) with_spike_function(const SurrogateSpec& spec, Body&& body) {
  using namespace surrogate;
  const Real gamma = static_cast<Real>(spec.dampening);
  const Real beta = static_cast<Real>(spec.sharpness);
  if (spec.smooth_forward) return body(SmoothSpike<Real>{beta});
  switch (spec.kind) {
    case SurrogateKind::q_tail:
      return body(HeavisideSpike<Real, QTail<Real>>{{gamma, beta, static_cast<Real>(spec.tail)}});
    case SurrogateKind::sigmoid:
      return body(HeavisideSpike<Real, Sigmoid<Real>>{{gamma, beta}});
    case SurrogateKind::arctan:
      return body(HeavisideSpike<Real, Arctan<Real>>{{gamma, beta}});
    case SurrogateKind::triangular:
      return body(HeavisideSpike<Real, Triangular<Real>>{{gamma, beta}});
    case SurrogateKind::exponential:
      return body(HeavisideSpike<Real, Exponential<Real>>{{gamma, beta}});
    case SurrogateKind::gaussian:
      return body(HeavisideSpike<Real, Gaussian<Real>>{{gamma, beta}});
    case SurrogateKind::rectangular:
      return body(HeavisideSpike<Real, Rectangular<Real>>{{gamma, beta}});
    case SurrogateKind::fast_sigmoid:
      break;
  }
  return body(HeavisideSpike<Real, FastSigmoid<Real>>{{gamma, beta}});
}

// Calls `body(fire_function)` with the forward-only spike function for `spec` (see HeavisideFire).
template <typename Real, typename Body>
decltype(auto) with_fire_function(const SurrogateSpec& spec, Body&& body) {
  if (spec.smooth_forward)
    return body(surrogate::SmoothSpike<Real>{static_cast<Real>(spec.sharpness)});
  return body(surrogate::HeavisideFire<Real>{});
}

// The surrogate derivative at x, for tests and tools (the kernels use with_spike_function).
template <typename Real>
Real surrogate_derivative(const SurrogateSpec& spec, Real x) {
  return with_spike_function<Real>(spec, [x](const auto& spike) { return spike.slope(x); });
}

}  // namespace homeostat
