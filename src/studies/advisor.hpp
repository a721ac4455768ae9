// The stability-based advisor (`homeostat advise`): initialization and surrogate-gradient settings
// from the four stability conditions of Herranz-Celotti & Rouat (seed 003; papers.md section 3,
// "Stability conditions for init and SG choice" I-IV), for every layer of LIF/ALIF neurons.
//
// Advised layers: every `recurrent` layer, and every `lif` layer directly after a `dense` layer
// (then there is no recurrent matrix: the n_rec terms vanish and condition I sets the dense
// layer's weight mean). Other lif layers (after conv2d, pooling, ...) are reported as skipped.
//
// Our model against the paper's (lif.hpp, surrogate.hpp):
// - The spike argument is x = v - theta (the paper's default, not its `vt/t` variant), and the
//   surrogate family of surrogate.hpp is the paper's, with the same parameters: gamma =
//   `dampening` (peak height), beta = `sharpness` (inverse width), q = `tail`. So no conversion of
//   gamma, beta or q is needed; `arctan` (not in the paper) is handled like the others, by
//   quadrature. The conditions are in absolute voltage units, so they carry over from the paper's
//   theta = 0.01 to our default theta = 1 unchanged.
// - Reset modes: "subtract" is the paper's default subtractive reset, "zero"
//   (v_t = alpha v_{t-1} (1 - z_{t-1}) + I_t) is the paper's multreset2 exactly, and "none" (no
//   reset) is derived the same way with the reset term dropped (below).
// - ALIF: the threshold is theta0 + beta_a a_t with a -> 1/2 at 50% firing, so the conditions use
//   the effective threshold theta = theta0 + beta_a / 2 (and ignore the adaptation's own dynamics).
// - n_conn, the recurrent synapses per neuron, is n_rec - 1 with a zero diagonal (the paper always
//   masks it), n_rec without.
//
// Condition I (about 50% initial firing: E[v - theta] = 0 with E[z] = 1/2). The mean-field steady
// state E[v] = theta needs a mean drive per step (input current plus recurrent current) of
//   D = (1 - alpha) theta + theta / 2   subtract  (leak plus the mean reset theta E[z])
//   D = (1 - alpha / 2) theta           zero      (E[v (1 - z)] = theta / 2)
//   D = (1 - alpha) theta               none      (leak only)
// The recurrent current supplies n_conn mu_rec / 2 and the input current mu_I = n_in mu_win E[x] +
// mean bias, so mu_rec = 2 (D - mu_I) / n_conn. With mu_I = 0 (the paper's zero-mean input weights)
// this is exactly the paper's (3 - 2 alpha) theta / (n_rec - 1) for subtract and
// (2 - alpha) theta / (n_rec - 1) for multreset2; for none it is 2 (1 - alpha) theta / (n_rec - 1).
// Including mu_I is our extension: it keeps E[v - theta] = 0 when the input weights or biases have
// a non-zero mean. A `lif` layer fed by a dense layer has no recurrent matrix: the dense layer's
// weight mean gives the drive instead, mu_win = (D - mean bias) / (n_in E[x]).
//
// Condition II (recurrent current variance balances the input; the paper's formula):
//   Var(W_rec) = E[x^2] Var(W_in) n_in / n_conn - mu_rec^2 / 2,    E[x^2] = sigma_in^2 + mu_in^2,
// clamped at 0. Var(W_in) is the input init's: gain^2 / (3 fan_in) uniform, gain^2 / fan_in normal.
// E[x], E[x^2] come from the encoded training data for the layer fed by the encoder, and are 1/2
// for deeper layers (spikes at 50% firing, as the paper assumes). The advised recurrent init is
// "normal" with gain sqrt(Var(W_rec) n_rec) (init.hpp draws N(0, gain^2 / fan_in), fan_in = n_rec).
//
// Condition III (dampening keeping gradients bounded through time; the paper's code variant "a"):
//   gamma = min W_rec / (max W_rec (n_conn min W_rec - theta)) (1 - alpha - n_in gamma_in max W_in)
// over the realized advised matrices (drawn exactly as the builder will draw them; the zeroed
// diagonal excluded); gamma_in is the dampening advised for the previous spiking layer, 0 for a
// layer fed by the encoder (as in the paper's code). Without a recurrent matrix (`lif` layers) the
// n_rec terms vanish and min/max -> -1 in the limit, leaving gamma = (1 - alpha - n_in gamma_in
// max W_in) / theta. A non-positive or non-finite result is infeasible: the configured dampening is
// kept and the advice says so.
//
// Condition IV (expected squared transition derivative 1; the paper's code):
//   -1 + A + (n_conn E[w_rec^2] + R) E_s[SG^2] + n_in E[w_in^2] E_s[SG_in] = 0
// with A = alpha^2 (subtract, none) or alpha^2 / 2 (zero) and R = theta^2 for subtract, 0 otherwise
// (the paper's code keeps theta^2 although it also stops the reset gradient). The last term is only
// there when the input comes from a spiking layer (SG_in: its advised surrogate; first power, as
// in the paper). E_s[SG^m] is SG(v - theta)^m averaged uniformly over v in [y_min, y_max],
//   y_max = (S+_rec + S+_in) / (1 - alpha),   y_min = (S-_rec + S-_in - theta_reset) / (1 - alpha),
// (T instead of 1 / (1 - alpha) without leak) where S+/S- are a neuron's expected sums of the
// positive/negative parts of its incoming weights (the paper's code takes each neuron's realized
// sums and averages the per-neuron solutions; we solve once for the expected neuron),
// the input sums scaled by the largest input value (1 for spikes; gain x max pixel for direct
// input), and theta_reset = theta for subtract, 0 otherwise (the paper's code). The average is
// computed by 24-point Gauss-Legendre quadrature on segments split at 0 and at geometric multiples
// of the surrogate's width (so kinks and jumps fall on segment ends), for every shape. The root in
// beta is found by bisection (in log beta) on [0.05, 20]: the residual decreases with beta for
// every shape (each SG is gamma f(beta |x|) with f non-increasing), so if it is negative at beta =
// 0.05 no surrogate is wide enough (advised 0.05, flagged) and if positive at 20 none is sharp
// enough (advised 20, flagged). For the q_tail shape the tail q is solved instead (sharpness kept):
// a scan of 64 log-spaced values of q - 1 over [0.01, 15.85] (q in [1.01, 16.85], the paper's
// sweep) then bisection on the first sign change; without one, the scanned q with the smallest
// residual (flagged).
// III is a worst-case bound (every surrogate at its peak), of order (1 - alpha) / (n_conn max
// W_rec) (W2: 0.0014); with such a dampening IV usually has no root. The advisor then applies the
// flagged values as the conditions give them, and also reports the dampening that IV alone would
// need at the configured sharpness (`iv_dampening`; W2: 17).
//
// Calibration of condition I (our extension). Condition I is a mean-field balance: it ignores that
// our neurons start from rest (v = 0, no spikes) in a window of T steps, and that the drive is
// heterogeneous (with direct input each neuron gets its own input current mean, so many neurons sit
// far below threshold for many steps while the recurrent loop gain n_conn mu_rec / theta =
// 3 - 2 alpha > 1 amplifies any shortfall). On W2 the paper's mu_rec fires at about 1/3, not 1/2.
// So the advisor then refines the one quantity condition I sets (mu_rec, or a lif layer's input
// weight mean) by a deterministic bisection (14 halvings of [I - 4u, I + 4u], u the weight mean
// worth a drive of theta: 2 theta / n_conn, or theta / (n_in E[x])) on the measured mean rate of
// the layer in one forward pass of a calibration batch (training samples B..2B-1, encoder stream
// {0, 1}; layers in order, upstream layers already advised), so that it is 1/2. Conditions II-IV
// are then evaluated at the calibrated mean. The reported rates are measured on a different batch
// (samples 0..B-1, the trainer's first-batch encoder stream {0, 0}), so they check the calibration
// rather than repeat it (with fewer than 2B samples both use samples 0..B-1).
//
// The advised config is then built and run forward on one batch of real training samples, and the
// measured initial firing rate is reported next to the configured config's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/experiment_reader.hpp"
#include "data/dataset.hpp"
#include "neuron/neuron_spec.hpp"
#include "neuron/surrogate.hpp"

namespace homeostat {

// ---- The conditions' formulas (pure functions, unit-tested on hand-computed values) ----

// Condition I: the mean drive per step that holds E[v] = theta at 50% firing (see above).
double half_rate_drive(ResetMode reset, double alpha, double theta);
// Condition I: the recurrent weight mean, 2 (D - input_current_mean) / n_conn.
double condition_i_recurrent_mean(ResetMode reset, double alpha, double theta, std::size_t n_conn,
                                  double input_current_mean);
// Condition II: E[x^2] Var(W_in) n_in / n_conn - mu_rec^2 / 2, clamped at 0.
double condition_ii_recurrent_variance(double input_second_moment, double input_weight_variance,
                                       std::size_t n_in, std::size_t n_conn, double mu_rec);
// Condition III with a recurrent matrix (n_conn > 0), or its n_rec-free limit (n_conn == 0, where
// the w_rec arguments are ignored). Returns NaN when infeasible (non-positive or non-finite).
double condition_iii_dampening(double w_rec_min, double w_rec_max, std::size_t n_conn, double theta,
                               double alpha, std::size_t n_in, double gamma_in, double w_in_max);

// E_s[SG^m]: SG(x)^m averaged uniformly over x in [x_min, x_max] (x = v - theta), by quadrature.
double surrogate_moment(const SurrogateSpec& surrogate, int power, double x_min, double x_max);

// What condition IV needs about one layer.
struct ConditionIvInputs {
  ResetMode reset = ResetMode::subtract;
  double alpha = 0.95;
  double theta = 1.0;
  std::size_t n_conn = 0;            // 0: no recurrent matrix
  double w_rec_second_moment = 0.0;  // E[w_rec^2]
  std::size_t n_in = 0;
  double w_in_second_moment = 0.0;  // E[w_in^2]
  double y_min = 0.0;               // voltage range averaged over
  double y_max = 0.0;
  bool spiking_input = false;     // adds n_in E[w_in^2] E_s[SG_in]
  SurrogateSpec input_surrogate;  // SG_in
};
// The residual of condition IV for `surrogate` (0 at the solution).
double condition_iv_residual(const ConditionIvInputs& in, const SurrogateSpec& surrogate);

struct ConditionIvSolution {
  double value = 0.0;  // sharpness, or tail for q_tail
  bool root = false;   // false: clamped to the search range's end (or best scanned q)
  double residual = 0.0;
};
inline constexpr double kSharpnessMin = 0.05;
inline constexpr double kSharpnessMax = 20.0;
inline constexpr double kTailMin = 1.01;
inline constexpr double kTailMax = 16.85;
// Solves condition IV for the sharpness (or, for q_tail, the tail) of `surrogate`, whose dampening
// (and, for q_tail, sharpness) is kept.
ConditionIvSolution solve_condition_iv(const ConditionIvInputs& in, const SurrogateSpec& surrogate);

// ---- Input statistics ----

struct InputStatistics {
  double mean = 0.5;           // E[x]
  double second_moment = 0.5;  // E[x^2] = sigma^2 + mu^2
  double max = 1.0;            // largest input value
  std::string source;
};
// E[x], E[x^2] and max x of the encoder's output over `data` (all samples, features and steps): the
// encoder's expected output, exactly: gain x (direct), p and p (rate, poisson: a spike is 1 with
// probability p, so E[x] = E[x^2] = E[p]), the deterministic spikes of latency and delta.
InputStatistics encoded_input_statistics(const ExperimentConfig& config, const Dataset& data);
// The paper's assumption for layers fed by spikes: mean 1/2, variance 1/4.
InputStatistics spike_input_statistics(const std::string& from_layer);

// ---- Advice ----

struct LayerAdvice {
  std::size_t layer = 0;         // index of the neuron layer
  std::size_t weight_layer = 0;  // index of the layer holding its input weights (dense for lif)
  std::string name;
  LayerKind kind = LayerKind::recurrent;
  bool adaptive = false;
  ResetMode reset = ResetMode::subtract;
  std::size_t n_in = 0;
  std::size_t n_rec = 0;   // 0 for lif
  std::size_t n_conn = 0;  // recurrent synapses per neuron
  double alpha = 0.0;
  double theta = 0.0;  // effective threshold
  InputStatistics input;
  double input_current_mean = 0.0;  // mu_I from the (kept) input init
  double drive = 0.0;               // D
  // I
  double mu_paper = 0.0;    // condition I's value (mu_rec, or a lif layer's input-weight mean)
  bool calibrated = false;  // mu_rec / mu_in below were calibrated on the measured rate
  double calibration_rate = 0.0;  // rate on the calibration batch at the advised mean
  double mu_rec = 0.0;            // recurrent
  double mu_in = 0.0;             // lif: advised input-weight mean of the dense layer
  // II (recurrent only)
  double var_in = 0.0;
  double var_rec = 0.0;
  double gain_rec = 0.0;  // normal init
  // III
  double dampening = 1.0;
  bool dampening_feasible = true;
  double w_rec_min = 0.0, w_rec_max = 0.0, w_in_max = 0.0;
  // IV
  SurrogateSpec surrogate;  // advised
  ConditionIvSolution iv;
  // The dampening that would solve IV at the configured sharpness (tail) instead: the residual is
  // -1 + A + input term + C gamma^2 E_s[SG^2]|gamma=1, so gamma = sqrt((1 - A - input) / (C E)).
  // NaN when there is none. Shown next to III's bound, which is usually far smaller.
  double iv_dampening = 0.0;
  double y_min = 0.0, y_max = 0.0;
  // Measured on one batch (NaN when not measured).
  double configured_rate = 0.0;
  double advised_rate = 0.0;
  double paper_rate = 0.0;  // with condition I's uncalibrated values (NaN when not calibrated)
  std::vector<std::string> notes;
};

struct AdvisorOptions {
  std::size_t data_limit = 2000;    // training samples for the input statistics
  std::size_t measure_batch = 128;  // samples per measured forward pass; 0: do not measure
  bool calibrate = true;            // calibrate condition I on the measured rate (needs batch > 0)
};

struct AdvisorReport {
  std::string config_name;
  InputStatistics data_input;
  std::vector<LayerAdvice> layers;
  std::vector<std::string> overrides;  // "key=value" assignments that give the advised config
  std::string advised_toml;            // the advised config (validated by parse_experiment)
  std::size_t measured_samples = 0;
  std::vector<std::string> skipped;  // spiking layers that are not advised, with the reason
};

// The advice for every LIF/ALIF layer of `config` (no I/O). ConfigError when it has none.
// `means` replaces condition I's value for the layers it names (layer index -> mu_rec or, for a
// lif layer, the input-weight mean): the calibration's results.
std::vector<LayerAdvice> compute_advice(const ExperimentConfig& config,
                                        const InputStatistics& data_input,
                                        std::vector<std::string>* skipped = nullptr,
                                        const std::map<std::size_t, double>& means = {});
// `layers` with the advice applied (values rounded as in advice_overrides).
std::vector<LayerSpec> apply_advice(std::vector<LayerSpec> layers,
                                    const std::vector<LayerAdvice>& advice);
// Calibrates condition I (see above) on samples [batch, 2 batch) of `data` (or [0, batch) when
// there are too few); returns the calibrated means, keyed like compute_advice's `means`, and
// stores the calibration batch's rates.
std::map<std::size_t, double> calibrate_condition_i(const ExperimentConfig& config,
                                                    const InputStatistics& data_input,
                                                    const Dataset& data, std::size_t batch,
                                                    std::map<std::size_t, double>* rates = nullptr);
// The --set style assignments that turn `config` into the advised one (name suffixed "_advised").
std::vector<std::string> advice_overrides(const ExperimentConfig& config,
                                          const std::vector<LayerAdvice>& advice);
// Mean spike rate of each layer in `layers` in one forward pass (RunContext{false, seed, 0, 0}) of
// the network built from `config` on samples [first, first + batch) of `data` (fewer at the end),
// encoded with CounterRng(seed, RngPurpose::encode, {0, stream}); first = stream = 0 is encoded
// as the trainer encodes its first batch.
std::vector<double> measure_initial_rates(const ExperimentConfig& config, const Dataset& data,
                                          std::size_t batch, const std::vector<std::size_t>& layers,
                                          std::size_t first = 0, std::uint64_t stream = 0);

// Loads the config (with --set overrides) and its training data, computes the advice, applies it
// to the config document and validates the result, and measures both configs' initial rates.
AdvisorReport run_advisor(const std::filesystem::path& config_path,
                          const std::vector<std::string>& overrides,
                          const AdvisorOptions& options = {});

}  // namespace homeostat
