// The stability-based advisor; the formulas and the parametrization notes are in advisor.hpp.
#include "studies/advisor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <numeric>
#include <optional>
#include <span>

#include "common/error.hpp"
#include "data/encoder.hpp"
#include "layer/init.hpp"
#include "network/builder.hpp"
#include "neuron/model.hpp"
#include "random/counter_rng.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Gauss-Legendre nodes and weights on [-1, 1] (Newton on the Legendre recurrence). The nodes are
// interior, so a surrogate's jump (rectangular) at a segment end is never evaluated.
constexpr int kGaussPoints = 24;
struct GaussLegendre {
  double node[kGaussPoints];
  double weight[kGaussPoints];
  GaussLegendre() {
    for (int i = 0; i < kGaussPoints; ++i) {
      double x = std::cos(std::numbers::pi * (i + 0.75) / (kGaussPoints + 0.5));
      double derivative = 1.0;
      for (int iteration = 0; iteration < 100; ++iteration) {
        double p0 = 1.0, p1 = x;  // P_0, P_1
        for (int k = 2; k <= kGaussPoints; ++k) {
          const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
          p0 = p1;
          p1 = p2;
        }
        derivative = kGaussPoints * (x * p1 - p0) / (x * x - 1.0);
        const double step = p1 / derivative;
        x -= step;
        if (std::abs(step) < 1e-16) break;
      }
      node[i] = x;
      weight[i] = 2.0 / ((1.0 - x * x) * derivative * derivative);
    }
  }
};

std::size_t connections(const LayerSpec& spec) {
  return spec.zero_diagonal ? spec.units - 1 : spec.units;
}

// Var(w) of an init's weights before the mean shift.
double init_variance(const InitSpec& init, std::size_t fan_in) {
  const double scale2 = init.gain * init.gain / static_cast<double>(fan_in);
  return init.kind == InitSpec::Kind::uniform ? scale2 / 3.0 : scale2;
}

// E[relu(w)] for w drawn by `kind` with the given mean and variance.
double expected_positive_part(InitSpec::Kind kind, double mean, double variance) {
  if (variance <= 0.0) return std::max(mean, 0.0);
  if (kind == InitSpec::Kind::uniform) {
    const double half_width = std::sqrt(3.0 * variance);  // U(mean - a, mean + a)
    if (mean - half_width >= 0.0) return mean;
    if (mean + half_width <= 0.0) return 0.0;
    return (mean + half_width) * (mean + half_width) / (4.0 * half_width);
  }
  const double sigma = std::sqrt(variance);
  const double u = mean / sigma;
  const double pdf = std::exp(-0.5 * u * u) / std::sqrt(2.0 * std::numbers::pi);
  const double cdf = 0.5 * std::erfc(-u / std::numbers::sqrt2);
  return mean * cdf + sigma * pdf;
}

// Voltage accumulation horizon: 1 / (1 - alpha), or T for a neuron without leak.
double accumulation(double alpha, std::size_t steps) {
  return alpha < 1.0 - 1e-12 ? 1.0 / (1.0 - alpha) : static_cast<double>(steps);
}

// Condition I's calibration: the search range (in units of the mean worth a drive of theta) and
// its halvings.
constexpr double kCalibrationRange = 4.0;
constexpr int kCalibrationSteps = 14;

std::string format_number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// The value as written to the config (6 significant digits).
double rounded(double value) { return std::stod(format_number(value)); }

std::string toml_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// Spike probability of the rate and Poisson encoders (as in encoder.cpp).
double spike_probability(EncoderKind kind, double gain, double x) {
  const double p = kind == EncoderKind::rate ? gain * x : 1.0 - std::exp(-gain * x);
  return std::clamp(p, 0.0, 1.0);
}

// Extremes of a realized weight tensor; with `skip_diagonal`, [n, n] off-diagonal entries only.
std::pair<double, double> weight_extremes(const Tensor<double>& weights, bool skip_diagonal,
                                          std::size_t n) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (skip_diagonal && i / n == i % n) continue;
    lo = std::min(lo, weights[i]);
    hi = std::max(hi, weights[i]);
  }
  return {lo, hi};
}

// The advisor's state about the nearest spiking layer seen so far.
struct SpikingSource {
  std::string name;
  SurrogateSpec surrogate;  // advised if it was advised, else configured
  bool advised = false;
};

}  // namespace

// ---- Formulas ----

double half_rate_drive(ResetMode reset, double alpha, double theta) {
  switch (reset) {
    case ResetMode::subtract:
      return (1.0 - alpha) * theta + 0.5 * theta;
    case ResetMode::zero:
      return (1.0 - 0.5 * alpha) * theta;
    case ResetMode::none:
      break;
  }
  return (1.0 - alpha) * theta;
}

double condition_i_recurrent_mean(ResetMode reset, double alpha, double theta, std::size_t n_conn,
                                  double input_current_mean) {
  if (n_conn == 0) return kNaN;
  return 2.0 * (half_rate_drive(reset, alpha, theta) - input_current_mean) /
         static_cast<double>(n_conn);
}

double condition_ii_recurrent_variance(double input_second_moment, double input_weight_variance,
                                       std::size_t n_in, std::size_t n_conn, double mu_rec) {
  if (n_conn == 0) return kNaN;
  const double variance = input_second_moment * input_weight_variance * static_cast<double>(n_in) /
                              static_cast<double>(n_conn) -
                          0.5 * mu_rec * mu_rec;
  return std::max(variance, 0.0);
}

double condition_iii_dampening(double w_rec_min, double w_rec_max, std::size_t n_conn, double theta,
                               double alpha, std::size_t n_in, double gamma_in, double w_in_max) {
  const double bracket = 1.0 - alpha - static_cast<double>(n_in) * gamma_in * w_in_max;
  double gamma = kNaN;
  if (n_conn == 0) {
    gamma = bracket / theta;
  } else {
    const double denominator = w_rec_max * (static_cast<double>(n_conn) * w_rec_min - theta);
    if (denominator != 0.0) gamma = w_rec_min / denominator * bracket;
  }
  return std::isfinite(gamma) && gamma > 0.0 ? gamma : kNaN;
}

double surrogate_moment(const SurrogateSpec& surrogate, int power, double x_min, double x_max) {
  SurrogateSpec spec = surrogate;
  spec.smooth_forward = false;
  const auto f = [&](double x) { return std::pow(surrogate_derivative<double>(spec, x), power); };
  if (!(x_max > x_min)) return f(x_min);
  // Segment ends: the range, 0 and +-s 2^k (k >= -3), s the surrogate's half width (rectangular
  // edge at 1 / (2 beta), triangular corner at 1 / beta; q_tail's width (q - 1) / (2 beta) when
  // smaller).
  double scale = 0.5 / spec.sharpness;
  if (spec.kind == SurrogateKind::q_tail) {
    scale = std::min(scale, 0.5 * (spec.tail - 1.0) / spec.sharpness);
  }
  std::vector<double> ends{x_min, x_max};
  const double reach = std::max(std::abs(x_min), std::abs(x_max));
  for (double s = 0.0; s <= reach; s = s == 0.0 ? scale / 8.0 : 2.0 * s) {
    for (const double x : {s, -s}) {
      if (x > x_min && x < x_max) ends.push_back(x);
    }
  }
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  static const GaussLegendre rule;
  double integral = 0.0;
  for (std::size_t i = 0; i + 1 < ends.size(); ++i) {
    const double middle = 0.5 * (ends[i] + ends[i + 1]);
    const double half = 0.5 * (ends[i + 1] - ends[i]);
    double sum = 0.0;
    for (int k = 0; k < kGaussPoints; ++k) sum += rule.weight[k] * f(middle + half * rule.node[k]);
    integral += sum * half;
  }
  return integral / (x_max - x_min);
}

double condition_iv_residual(const ConditionIvInputs& in, const SurrogateSpec& surrogate) {
  const double leak = in.reset == ResetMode::zero ? 0.5 * in.alpha * in.alpha : in.alpha * in.alpha;
  const double reset_term = in.reset == ResetMode::subtract ? in.theta * in.theta : 0.0;
  const double x_min = in.y_min - in.theta;
  const double x_max = in.y_max - in.theta;
  double residual = -1.0 + leak;
  const double recurrent = static_cast<double>(in.n_conn) * in.w_rec_second_moment + reset_term;
  if (recurrent != 0.0) residual += recurrent * surrogate_moment(surrogate, 2, x_min, x_max);
  if (in.spiking_input) {
    residual += static_cast<double>(in.n_in) * in.w_in_second_moment *
                surrogate_moment(in.input_surrogate, 1, x_min, x_max);
  }
  return residual;
}

ConditionIvSolution solve_condition_iv(const ConditionIvInputs& in,
                                       const SurrogateSpec& surrogate) {
  SurrogateSpec trial = surrogate;
  ConditionIvSolution solution;
  if (surrogate.kind == SurrogateKind::q_tail) {
    // Residual in q is not monotone in general: scan log(q - 1), bisect the first sign change.
    const auto residual = [&](double q) {
      trial.tail = q;
      return condition_iv_residual(in, trial);
    };
    constexpr int kScan = 64;
    const double lo = std::log(kTailMin - 1.0);
    const double hi = std::log(kTailMax - 1.0);
    double best_q = kTailMin;
    double best = std::numeric_limits<double>::infinity();
    double previous_q = 0.0;
    double previous_r = 0.0;
    for (int i = 0; i <= kScan; ++i) {
      const double q = 1.0 + std::exp(lo + (hi - lo) * i / kScan);
      const double r = residual(q);
      if (std::abs(r) < best) {
        best = std::abs(r);
        best_q = q;
      }
      if (i > 0 && (previous_r < 0.0) != (r < 0.0)) {
        double a = previous_q, b = q, ra = previous_r;
        for (int k = 0; k < 80; ++k) {
          const double m = 1.0 + std::sqrt((a - 1.0) * (b - 1.0));
          const double rm = residual(m);
          if ((rm < 0.0) == (ra < 0.0)) {
            a = m;
            ra = rm;
          } else {
            b = m;
          }
        }
        solution.value = 1.0 + std::sqrt((a - 1.0) * (b - 1.0));
        solution.root = true;
        solution.residual = residual(solution.value);
        return solution;
      }
      previous_q = q;
      previous_r = r;
    }
    solution.value = best_q;
    solution.residual = residual(best_q);
    return solution;
  }
  // Decreasing in beta: bisection on log beta.
  const auto residual = [&](double beta) {
    trial.sharpness = beta;
    return condition_iv_residual(in, trial);
  };
  const double r_lo = residual(kSharpnessMin);
  const double r_hi = residual(kSharpnessMax);
  if (r_lo <= 0.0) return {kSharpnessMin, r_lo == 0.0, r_lo};
  if (r_hi >= 0.0) return {kSharpnessMax, r_hi == 0.0, r_hi};
  double a = kSharpnessMin, b = kSharpnessMax;
  for (int k = 0; k < 80; ++k) {
    const double m = std::sqrt(a * b);
    (residual(m) > 0.0 ? a : b) = m;
  }
  solution.value = std::sqrt(a * b);
  solution.root = true;
  solution.residual = residual(solution.value);
  return solution;
}

// ---- Input statistics ----

namespace {

// Calls visit(indices) on consecutive chunks of the sample indices 0..samples-1.
template <typename Visit>
void for_each_sample_chunk(std::size_t samples, const Visit& visit) {
  constexpr std::size_t kChunk = 64;
  std::vector<std::size_t> indices;
  for (std::size_t start = 0; start < samples; start += kChunk) {
    indices.resize(std::min(samples, start + kChunk) - start);
    std::iota(indices.begin(), indices.end(), start);
    visit(std::span<const std::size_t>(indices));
  }
}

}  // namespace

InputStatistics encoded_input_statistics(const ExperimentConfig& config, const Dataset& data) {
  if (data.size() == 0) throw DataError("the training data has no samples");
  const EncoderSpec& encoder = config.encoder;
  double sum = 0.0, sum2 = 0.0, count = 0.0;
  double max = 0.0;
  const auto accumulate = [&](const auto& encoded) {
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      const auto y = static_cast<double>(encoded[i]);
      sum += y;
      sum2 += y * y;
      max = std::max(max, y);
    }
    count += static_cast<double>(encoded.size());
  };
  if (data.has_events()) {
    // Event streams have no dense samples: bin and encode them as training does, in chunks.
    const Shape features = network_input_shape(config);
    std::vector<float> scratch;
    Tensor<float> encoded;
    for_each_sample_chunk(data.size(), [&](std::span<const std::size_t> indices) {
      encode_batch(config, data, indices, CounterRng(config.seed, RngPurpose::encode, {0, 0}),
                   features, scratch, encoded);
      accumulate(encoded);
    });
  } else {
    switch (encoder.kind) {
      case EncoderKind::direct:
      case EncoderKind::rate:
      case EncoderKind::poisson:
        // Every step presents each value of the sample (a frame per step, or the same frame).
        for (const float value : data.samples) {
          const auto x = static_cast<double>(value);
          double y = encoder.gain * x;
          double y2 = y * y;
          if (encoder.kind != EncoderKind::direct) {
            y = spike_probability(encoder.kind, encoder.gain, x);
            y2 = y;  // a spike is 1 with probability p
            if (y > 0.0) max = 1.0;
          } else {
            max = std::max(max, y);
          }
          sum += y;
          sum2 += y2;
          count += 1.0;
        }
        break;
      case EncoderKind::latency:
      case EncoderKind::latency_log:
      case EncoderKind::delta: {
        // Deterministic spikes: encode the samples in chunks and count.
        const ViewShape view = view_shape(config.data.view, data.sample_shape);
        const std::size_t features = shape_size(view.feature_shape);
        std::vector<float> scratch;
        Tensor<double> encoded;
        for_each_sample_chunk(data.size(), [&](std::span<const std::size_t> indices) {
          gather_batch(data, indices, scratch);
          encode<double>(encoder, scratch, indices.size(), view.frames, features,
                         config.data.time_steps,
                         CounterRng(config.seed, RngPurpose::encode, {0, 0}), encoded);
          accumulate(encoded);
        });
        break;
      }
    }
  }
  InputStatistics stats;
  stats.mean = sum / count;
  stats.second_moment = sum2 / count;
  stats.max = max;
  char text[160];
  std::snprintf(text, sizeof text, "%zu training samples, encoder %s (gain %g)", data.size(),
                std::string(encoder_kind_name(encoder.kind)).c_str(), encoder.gain);
  stats.source = text;
  return stats;
}

InputStatistics spike_input_statistics(const std::string& from_layer) {
  InputStatistics stats;
  stats.mean = 0.5;
  stats.second_moment = 0.5;  // variance 1/4 + mean^2 1/4
  stats.max = 1.0;
  stats.source = from_layer.empty() ? "deeper layer: mean 1/2, variance 1/4 assumed (paper)"
                                    : "spikes of '" + from_layer +
                                          "' at 50% firing: mean 1/2, variance 1/4 (paper)";
  return stats;
}

// ---- Advice ----

namespace {

bool is_spiking(const LayerSpec& spec) {
  return spec.kind == LayerKind::lif || spec.kind == LayerKind::recurrent;
}

// Per-sample input shape of every layer.
std::vector<Shape> layer_input_shapes(const ExperimentConfig& config) {
  std::vector<Shape> input_shapes;
  Shape shape = network_input_shape(config);
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    input_shapes.push_back(shape);
    shape = make_layer<float>(config.layers[i], shape, config.data.time_steps, config.seed, i)
                ->output_shape();
  }
  return input_shapes;
}

// Why spiking layer i gets no advice; empty when it gets one.
std::string skip_reason(const std::vector<LayerSpec>& layers, std::size_t i) {
  const LayerSpec& spec = layers[i];
  const bool recurrent = spec.kind == LayerKind::recurrent;
  if (!neuron_model(spec.neuron.model).leaky_integrator(spec.neuron)) {
    return "'" + spec.name + "' (" + spec.neuron.model +
           " neurons): the conditions are derived for LIF/ALIF membranes; not advised";
  }
  if (!recurrent && (i == 0 || layers[i - 1].kind != LayerKind::dense)) {
    return "'" + spec.name + "' (" + spec.neuron.model +
           "): not fed by a dense layer, so there is no input weight to set; not advised";
  }
  if (recurrent && connections(spec) == 0) {
    return "'" + spec.name + "' (recurrent): one unit, no synapses";
  }
  return {};
}

// What the advice for layer i starts from: which layer holds its input weights, its sizes, its
// neuron, its effective threshold.
LayerAdvice describe_layer(const ExperimentConfig& config, std::size_t i,
                           const std::vector<Shape>& input_shapes) {
  const LayerSpec& spec = config.layers[i];
  const bool recurrent = spec.kind == LayerKind::recurrent;
  // The neuron as a leaky integrator (its model's view; skip_reason checked there is one). The
  // threshold the conditions use is ALIF's theta0 + beta_a / 2.
  const LeakyIntegratorView neuron =
      neuron_model(spec.neuron.model).leaky_integrator(spec.neuron).value();
  LayerAdvice a;
  a.layer = i;
  a.weight_layer = recurrent ? i : i - 1;
  a.name = spec.name;
  a.kind = spec.kind;
  a.adaptive = neuron.adaptive;
  a.reset = neuron.reset;
  a.n_in = shape_size(input_shapes[a.weight_layer]);
  a.n_rec = recurrent ? spec.units : 0;
  a.n_conn = recurrent ? connections(spec) : 0;
  a.alpha = neuron.decay;
  a.theta = neuron.threshold;
  if (a.adaptive) {
    a.notes.push_back("ALIF: effective threshold theta0 + beta_a / 2 = " + format_number(a.theta) +
                      " (adaptation a = 1/2 at 50% firing)");
  }
  return a;
}

// Input statistics: the data's for weights fed by the encoder, the paper's 1/2, 1/4 deeper.
void set_input_statistics(LayerAdvice& a, const InputStatistics& data_input,
                          const std::optional<SpikingSource>& source) {
  if (a.weight_layer == 0) {
    a.input = data_input;
    return;
  }
  a.input = spike_input_statistics(source ? source->name : "");
  if (source && !source->advised) {
    a.input.source =
        "spikes of '" + source->name + "' (not advised): mean 1/2, variance 1/4 assumed (paper)";
  }
  if (!source) {
    a.notes.emplace_back(
        "the input is neither the encoder's nor spikes: the paper's deeper-layer "
        "statistics are assumed");
  }
}

// Condition I's mean for layer a.layer: the calibrated one where `means` has it.
double calibrated_mean(LayerAdvice& a, const std::map<std::size_t, double>& means) {
  const auto calibrated = means.find(a.layer);
  a.calibrated = calibrated != means.end();
  return a.calibrated ? calibrated->second : a.mu_paper;
}

// A recurrent layer: I (the input keeps its init; its mean current counts toward the drive), II,
// and the extremes of the realized advised recurrent matrix (drawn as the builder draws it) for
// III.
void advise_recurrent_weights(LayerAdvice& a, const ExperimentConfig& config, const LayerSpec& spec,
                              const InitSpec& input_init, double bias_mean,
                              const std::map<std::size_t, double>& means) {
  a.input_current_mean = static_cast<double>(a.n_in) * input_init.mean * a.input.mean + bias_mean;
  a.mu_in = input_init.mean;
  a.mu_paper =
      condition_i_recurrent_mean(a.reset, a.alpha, a.theta, a.n_conn, a.input_current_mean);
  a.mu_rec = calibrated_mean(a, means);
  a.var_rec =
      condition_ii_recurrent_variance(a.input.second_moment, a.var_in, a.n_in, a.n_conn, a.mu_rec);
  a.gain_rec = std::sqrt(a.var_rec * static_cast<double>(a.n_rec));
  if (a.var_rec == 0.0) {
    a.notes.emplace_back(
        "condition II gives a negative variance (input too weak for the "
        "recurrent mean): clamped to 0");
  }
  InitSpec rec_init;
  rec_init.kind = InitSpec::Kind::normal;
  rec_init.gain = rounded(a.gain_rec);
  rec_init.mean = rounded(a.mu_rec);
  Tensor<double> w_rec({a.n_rec, a.n_rec});
  init_weights(rec_init, a.n_rec, config.seed, a.layer + (1ull << 32), w_rec,
               static_cast<Tensor<double>*>(nullptr));
  std::tie(a.w_rec_min, a.w_rec_max) = weight_extremes(w_rec, spec.zero_diagonal, a.n_rec);
}

// A lif layer: I, the dense layer's weight mean supplies the whole drive. Returns that layer's
// advised init.
InitSpec advise_lif_input_mean(LayerAdvice& a, const InitSpec& input_init, double bias_mean,
                               const std::map<std::size_t, double>& means) {
  const double scale = static_cast<double>(a.n_in) * a.input.mean;
  if (scale > 0.0) {
    a.mu_paper = (a.drive - bias_mean) / scale;
  } else {
    a.mu_paper = input_init.mean;
    a.notes.emplace_back("the input has mean 0: condition I cannot be met with the weight mean");
  }
  a.mu_in = calibrated_mean(a, means);
  a.input_current_mean = scale * a.mu_in + bias_mean;
  InitSpec advised = input_init;
  advised.mean = rounded(a.mu_in);
  return advised;
}

// III on the realized advised input matrix; keeps the configured dampening when infeasible.
void advise_dampening(LayerAdvice& a, const ExperimentConfig& config, const LayerSpec& spec,
                      const InitSpec& advised_input_init, double gamma_in) {
  const bool recurrent = spec.kind == LayerKind::recurrent;
  Tensor<double> w_in({recurrent ? spec.units : config.layers[a.weight_layer].units, a.n_in});
  init_weights(advised_input_init, a.n_in, config.seed, a.weight_layer, w_in,
               static_cast<Tensor<double>*>(nullptr));
  a.w_in_max = weight_extremes(w_in, false, 1).second;
  a.dampening = condition_iii_dampening(a.w_rec_min, a.w_rec_max, a.n_conn, a.theta, a.alpha,
                                        a.n_in, gamma_in, a.w_in_max);
  a.dampening_feasible = std::isfinite(a.dampening);
  if (!a.dampening_feasible) {
    a.dampening = spec.neuron.surrogate.dampening;
    a.notes.emplace_back(
        "condition III has no positive solution here (1 - alpha - n_in gamma_in "
        "max W_in <= 0, or the recurrent extremes do not allow it): the configured "
        "dampening is kept");
  }
}

// What condition IV needs beyond the layer's geometry: the weights' second moments and the
// voltage range [y_min, y_max] (also stored in `a`).
ConditionIvInputs condition_iv_inputs(LayerAdvice& a, const std::optional<SpikingSource>& source,
                                      const InitSpec& input_init, double w_in_mean,
                                      double horizon) {
  ConditionIvInputs iv;
  iv.reset = a.reset;
  iv.alpha = a.alpha;
  iv.theta = a.theta;
  iv.n_conn = a.n_conn;
  iv.n_in = a.n_in;
  iv.spiking_input = source.has_value();
  if (source) iv.input_surrogate = source->surrogate;
  iv.w_in_second_moment = a.var_in + w_in_mean * w_in_mean;
  const double in_pos = static_cast<double>(a.n_in) * a.input.max *
                        expected_positive_part(input_init.kind, w_in_mean, a.var_in);
  const double in_neg = static_cast<double>(a.n_in) * a.input.max *
                        (expected_positive_part(input_init.kind, w_in_mean, a.var_in) - w_in_mean);
  double rec_pos = 0.0, rec_neg = 0.0;
  if (a.kind == LayerKind::recurrent) {
    iv.w_rec_second_moment = a.var_rec + a.mu_rec * a.mu_rec;
    const double positive = expected_positive_part(InitSpec::Kind::normal, a.mu_rec, a.var_rec);
    rec_pos = static_cast<double>(a.n_conn) * positive;
    rec_neg = static_cast<double>(a.n_conn) * (positive - a.mu_rec);
  }
  const double theta_reset = a.reset == ResetMode::subtract ? a.theta : 0.0;
  a.y_max = horizon * (rec_pos + in_pos);
  a.y_min = horizon * (-rec_neg - in_neg - theta_reset);
  iv.y_min = a.y_min;
  iv.y_max = a.y_max;
  return iv;
}

// The dampening that IV alone would need at the configured sharpness (NaN when none does).
double condition_iv_dampening(const ConditionIvInputs& iv, const SurrogateSpec& surrogate) {
  SurrogateSpec unit = surrogate;
  unit.dampening = 1.0;
  const double rest = condition_iv_residual(iv, unit);  // -1 + A + input + C E|gamma=1
  unit.dampening = 0.0;
  const double base = condition_iv_residual(iv, unit);  // -1 + A + input
  const double squared = rest - base > 0.0 ? -base / (rest - base) : kNaN;
  return squared > 0.0 ? std::sqrt(squared) : kNaN;
}

// IV: the advised surrogate (III's dampening, IV's sharpness or tail), with a note when IV has no
// root in the searched range.
void advise_surrogate(LayerAdvice& a, const LayerSpec& spec, const ConditionIvInputs& iv) {
  a.surrogate = spec.neuron.surrogate;
  a.surrogate.smooth_forward = false;
  a.iv_dampening = condition_iv_dampening(iv, a.surrogate);
  a.surrogate.dampening = rounded(a.dampening);
  a.iv = solve_condition_iv(iv, a.surrogate);
  const bool tail = a.surrogate.kind == SurrogateKind::q_tail;
  (tail ? a.surrogate.tail : a.surrogate.sharpness) = rounded(a.iv.value);
  if (a.iv.root) return;
  const std::string j2 = format_number(1.0 + a.iv.residual);
  if (tail) {
    a.notes.push_back("condition IV has no root for q in [1.01, 16.85]: q set to " +
                      format_number(a.iv.value) + ", the closest (E[(dv_t/dv_{t-1})^2] = " + j2 +
                      ")");
  } else if (a.iv.residual < 0.0) {
    a.notes.push_back(
        "condition IV has no root for sharpness in [0.05, 20]: even the widest "
        "surrogate leaves E[(dv_t/dv_{t-1})^2] = " +
        j2 + " < 1 with this dampening; sharpness set to 0.05");
  } else {
    a.notes.push_back(
        "condition IV has no root for sharpness in [0.05, 20]: even the sharpest "
        "surrogate leaves E[(dv_t/dv_{t-1})^2] = " +
        j2 + " > 1; sharpness set to 20");
  }
}

// The advice for advisable spiking layer i, fed by `source` (the nearest spiking layer before it).
LayerAdvice advise_layer(const ExperimentConfig& config, std::size_t i,
                         const std::vector<Shape>& input_shapes, const InputStatistics& data_input,
                         const std::optional<SpikingSource>& source,
                         const std::map<std::size_t, double>& means) {
  const LayerSpec& spec = config.layers[i];
  LayerAdvice a = describe_layer(config, i, input_shapes);
  set_input_statistics(a, data_input, source);
  const LayerSpec& weight_spec = config.layers[a.weight_layer];
  const InitSpec& input_init = weight_spec.init;
  const double bias_mean = weight_spec.kind == LayerKind::dense && !weight_spec.bias
                               ? 0.0
                               : input_init.bias;  // random uniform biases have mean 0
  a.var_in = init_variance(input_init, a.n_in);
  a.drive = half_rate_drive(a.reset, a.alpha, a.theta);
  const double horizon = accumulation(a.alpha, config.data.time_steps);
  const double gamma_in = source ? source->surrogate.dampening : 0.0;
  InitSpec advised_input_init = input_init;
  if (spec.kind == LayerKind::recurrent) {
    advise_recurrent_weights(a, config, spec, input_init, bias_mean, means);
  } else {
    advised_input_init = advise_lif_input_mean(a, input_init, bias_mean, means);
  }
  advise_dampening(a, config, spec, advised_input_init, gamma_in);
  advise_surrogate(a, spec,
                   condition_iv_inputs(a, source, input_init, advised_input_init.mean, horizon));
  a.configured_rate = kNaN;
  a.advised_rate = kNaN;
  a.paper_rate = kNaN;
  return a;
}

}  // namespace

std::vector<LayerAdvice> compute_advice(const ExperimentConfig& config,
                                        const InputStatistics& data_input,
                                        std::vector<std::string>* skipped,
                                        const std::map<std::size_t, double>& means) {
  const std::vector<LayerSpec>& layers = config.layers;
  if (std::none_of(layers.begin(), layers.end(), is_spiking)) {
    throw ConfigError("config '" + config.name +
                      "' has no LIF/ALIF layers (kind \"recurrent\" or \"lif\"): the stability "
                      "advisor has nothing to advise");
  }
  const std::vector<Shape> input_shapes = layer_input_shapes(config);
  std::vector<LayerAdvice> advice;
  std::optional<SpikingSource> source;  // nearest spiking layer before the current one
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& spec = layers[i];
    if (!is_spiking(spec)) continue;
    if (const std::string reason = skip_reason(layers, i); !reason.empty()) {
      if (skipped) skipped->push_back(reason);
      source = SpikingSource{spec.name, spec.neuron.surrogate, false};
      continue;
    }
    advice.push_back(advise_layer(config, i, input_shapes, data_input, source, means));
    source = SpikingSource{spec.name, advice.back().surrogate, true};
  }
  return advice;
}

std::vector<std::string> advice_overrides(const ExperimentConfig& config,
                                          const std::vector<LayerAdvice>& advice) {
  std::vector<std::string> assignments;
  assignments.push_back("name=" + toml_string(config.name + "_advised"));
  for (const LayerAdvice& a : advice) {
    const std::string layer = "network.layers." + std::to_string(a.layer) + ".";
    if (a.kind == LayerKind::recurrent) {
      assignments.push_back(layer + "recurrent_init=\"normal\"");
      assignments.push_back(layer + "recurrent_init_gain=" + format_number(a.gain_rec));
      assignments.push_back(layer + "recurrent_init_mean=" + format_number(a.mu_rec));
    } else {
      assignments.push_back("network.layers." + std::to_string(a.weight_layer) +
                            ".init_mean=" + format_number(a.mu_in));
    }
    if (a.dampening_feasible) {
      assignments.push_back(layer + "dampening=" + format_number(a.surrogate.dampening));
    }
    if (a.surrogate.kind == SurrogateKind::q_tail) {
      assignments.push_back(layer + "tail=" + format_number(a.surrogate.tail));
    } else {
      assignments.push_back(layer + "sharpness=" + format_number(a.surrogate.sharpness));
    }
  }
  return assignments;
}

std::vector<LayerSpec> apply_advice(std::vector<LayerSpec> layers,
                                    const std::vector<LayerAdvice>& advice) {
  for (const LayerAdvice& a : advice) {
    LayerSpec& spec = layers.at(a.layer);
    if (a.kind == LayerKind::recurrent) {
      spec.recurrent_init.kind = InitSpec::Kind::normal;
      spec.recurrent_init.gain = rounded(a.gain_rec);
      spec.recurrent_init.mean = rounded(a.mu_rec);
    } else {
      layers.at(a.weight_layer).init.mean = rounded(a.mu_in);
    }
    spec.neuron.surrogate.dampening = a.surrogate.dampening;
    spec.neuron.surrogate.sharpness = a.surrogate.sharpness;
    spec.neuron.surrogate.tail = a.surrogate.tail;
  }
  return layers;
}

std::map<std::size_t, double> calibrate_condition_i(const ExperimentConfig& config,
                                                    const InputStatistics& data_input,
                                                    const Dataset& data, std::size_t batch,
                                                    std::map<std::size_t, double>* rates) {
  std::map<std::size_t, double> means;
  const std::size_t first = data.size() >= 2 * batch ? batch : 0;
  const std::vector<LayerAdvice> initial = compute_advice(config, data_input, nullptr, means);
  for (const LayerAdvice& layer : initial) {
    const std::size_t index = layer.layer;
    // The weight mean worth a drive of theta.
    const double unit = layer.kind == LayerKind::recurrent
                            ? 2.0 * layer.theta / static_cast<double>(layer.n_conn)
                            : layer.theta / (static_cast<double>(layer.n_in) * layer.input.mean);
    if (!(std::isfinite(unit) && unit > 0.0)) continue;
    ExperimentConfig trial = config;
    const auto rate_at = [&](double mean) {
      means[index] = mean;
      const std::vector<LayerAdvice> advice = compute_advice(config, data_input, nullptr, means);
      trial.layers = apply_advice(config.layers, advice);
      return measure_initial_rates(trial, data, batch, {index}, first, 1).front();
    };
    // The rate grows with the mean: bisection for 1/2.
    double lo = layer.mu_paper - kCalibrationRange * unit;
    double hi = layer.mu_paper + kCalibrationRange * unit;
    double rate_lo = rate_at(lo);
    double rate_hi = rate_at(hi);
    double mean = 0.0;
    double rate = 0.0;
    if (rate_lo >= 0.5) {
      mean = lo;
      rate = rate_lo;
    } else if (rate_hi <= 0.5) {
      mean = hi;
      rate = rate_hi;
    } else {
      for (int k = 0; k < kCalibrationSteps; ++k) {
        const double mid = 0.5 * (lo + hi);
        const double r = rate_at(mid);
        if (r < 0.5) {
          lo = mid;
          rate_lo = r;
        } else {
          hi = mid;
          rate_hi = r;
        }
      }
      // The end nearer to 1/2.
      const bool low = 0.5 - rate_lo <= rate_hi - 0.5;
      mean = low ? lo : hi;
      rate = low ? rate_lo : rate_hi;
    }
    means[index] = rounded(mean);
    if (rates) (*rates)[index] = rate;
  }
  return means;
}

std::vector<double> measure_initial_rates(const ExperimentConfig& config, const Dataset& data,
                                          std::size_t batch, const std::vector<std::size_t>& layers,
                                          std::size_t first, std::uint64_t stream) {
  const Shape features = network_input_shape(config);
  Network<float> network =
      build_network<float>(config.layers, features, config.data.time_steps, config.seed);
  if (first >= data.size()) first = 0;
  const std::size_t samples = std::min(batch, data.size() - first);
  if (samples == 0) throw DataError("no training samples to measure the initial rate on");
  std::vector<std::size_t> indices(samples);
  for (std::size_t i = 0; i < samples; ++i) indices[i] = first + i;
  std::vector<float> scratch;
  Tensor<float> input;
  encode_batch(config, data, indices, CounterRng(config.seed, RngPurpose::encode, {0, stream}),
               features, scratch, input);
  network.forward(input, RunContext{false, config.seed, 0, 0});
  std::vector<double> rates;
  for (const std::size_t index : layers) {
    const Tensor<float>& spikes = network.output(index);
    double sum = 0.0;
    for (std::size_t i = 0; i < spikes.size(); ++i) sum += static_cast<double>(spikes[i]);
    rates.push_back(spikes.size() ? sum / static_cast<double>(spikes.size()) : 0.0);
  }
  return rates;
}

AdvisorReport run_advisor(const std::filesystem::path& config_path,
                          const std::vector<std::string>& overrides,
                          const AdvisorOptions& options) {
  const ExperimentConfig config = load_experiment(config_path, overrides);
  AdvisorReport report;
  report.config_name = config.name;
  // Fails before the data is read when there is nothing to advise.
  compute_advice(config, spike_input_statistics(""));
  const Dataset data = load_data_split(config, "train", options.data_limit);
  report.data_input = encoded_input_statistics(config, data);
  std::map<std::size_t, double> means;
  std::map<std::size_t, double> calibration_rates;
  if (options.calibrate && options.measure_batch > 0) {
    means = calibrate_condition_i(config, report.data_input, data, options.measure_batch,
                                  &calibration_rates);
  }
  report.layers = compute_advice(config, report.data_input, &report.skipped, means);
  for (LayerAdvice& a : report.layers) {
    const auto rate = calibration_rates.find(a.layer);
    if (rate != calibration_rates.end()) a.calibration_rate = rate->second;
  }
  report.overrides = advice_overrides(config, report.layers);

  ConfigDocument document = load_config_file(config_path);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  for (const std::string& assignment : report.overrides) apply_override(document, assignment);
  report.advised_toml = to_toml_string(document.root);
  const ExperimentConfig advised = parse_experiment(
      parse_config_string(report.advised_toml, config_path.string() + " (advised)"));

  if (options.measure_batch > 0) {
    std::vector<std::size_t> indices;
    for (const LayerAdvice& a : report.layers) indices.push_back(a.layer);
    const std::vector<double> before =
        measure_initial_rates(config, data, options.measure_batch, indices);
    const std::vector<double> after =
        measure_initial_rates(advised, data, options.measure_batch, indices);
    for (std::size_t i = 0; i < report.layers.size(); ++i) {
      report.layers[i].configured_rate = before[i];
      report.layers[i].advised_rate = after[i];
    }
    if (!means.empty()) {
      // What condition I alone (uncalibrated) gives, for comparison.
      ExperimentConfig paper = config;
      paper.layers = apply_advice(config.layers, compute_advice(config, report.data_input));
      const std::vector<double> rates =
          measure_initial_rates(paper, data, options.measure_batch, indices);
      for (std::size_t i = 0; i < report.layers.size(); ++i) report.layers[i].paper_rate = rates[i];
    }
    report.measured_samples = std::min(options.measure_batch, data.size());
  }
  return report;
}

}  // namespace homeostat
