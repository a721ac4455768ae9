// W5: a synthetic temporal anomaly-detection task. Each sample is a multichannel signal of
// `steps` time steps x `channels` channels (values in [0, 1], row-major [step][channel]); label 1
// marks a sample that contains one anomaly (a transient burst, a level shift or a dropout),
// label 0 a normal one. The network reads a sample row by row (one step per row), rate-coded.
//
// Generative model (defaults in parentheses; x_c(t) is channel c at step t = 0 .. T-1):
//
//   x_c(t) = clip( mu + D + d_c + A s_c(t) + sigma e_c(t)  [+ anomaly], 0, 1 )
//   s_c(t) = sqrt(rho) sum_k a_ck sin(2 pi f_k t + phi_k) + sqrt(1 - rho) sin(2 pi g_c t + psi_c)
//
//   mu = baseline (0.4)                     D   ~ U[-level_jitter, level_jitter] (0.075)
//   A  = oscillation (0.1)                  d_c ~ U[-channel_jitter, channel_jitter] (0.05)
//   (D is one level per sample, d_c one offset per channel)
//   sigma = noise (0.1)                     e_c(t) ~ N(0, 1), i.i.d.
//   K = latent_components (2), k = 1..K     rho = latent_share (0.5), the common share of s_c
//   f_k, g_c ~ U[min_frequency, max_frequency] = U[0.02, 0.15] cycles per step
//   phi_k, psi_c ~ U[0, 2 pi)               a_c = n_c / |n_c|, n_c ~ N(0, I_K) (unit mixing)
//
// D, d, f, g, phi, psi and a are drawn afresh for every sample, so the K shared latent waves
// correlate the channels of a sample but there is no fixed template across samples.
//
// Label: y = 1 with probability anomaly_fraction (0.5), independently per sample. An anomalous
// sample's kind is burst, level_shift or dropout, 1/3 each. It affects m ~ U{min_affected ..
// max_affected} = U{3 .. 5} distinct channels, chosen uniformly, from onset t0:
//   burst:       x_c(t) += amplitude (0.6)                  for t in [t0, t0 + L)
//   dropout:     x_c(t)  = dropout_level (0.02), flat       for t in [t0, t0 + L)
//   level_shift: x_c(t) += s amplitude, s = -1 or +1 (1/2)  for t in [t0, T)
// (added before the clip; a dropped value has no wave and no noise), with
//   L  ~ U{min_duration .. max_duration} = U{8 .. 14} steps,
//   t0 ~ U{min_onset .. min(max_onset, T - L)}                (burst, dropout)
//   t0 ~ U{min_onset .. min(max_onset, T - min_shift_steps)}  (level shift),
// min_onset = 5, max_onset = 30, min_shift_steps = 10; U{a .. b} is uniform over the integers.
// max_onset leaves the network at least T - max_onset steps after an onset to collect evidence.
//
// Why the task is not trivial: the network sees rate-coded spikes, so one step of one channel is a
// single Bernoulli draw and only a run of steps across channels carries evidence; a burst or a
// dropout is a change relative to the sample's own level, which varies by D between samples. The
// global mean does not decide the label: bursts raise it, dropouts lower it, level shifts move it
// either way, and D moves it between normal samples by about as much (the best "normal iff the
// mean lies in [lo, hi]" rule scores 0.72-0.74 on 1000 samples; tested below 0.9). On the raw
// floats, the best rule on the sample's maximum and minimum scores about 0.80.
// Calibration (seeds 1, 2): a 128-unit recurrent LIF layer (decay 0.9, threshold 1, subtract
// reset, fast_sigmoid 5, uniform init_gain 3, zero diagonal) -> dense 2 -> readout 0.95,
// rate encoder gain 1, T = 50 rows, ce_mean_membrane, Adam 2e-3, batch 64, reached 0.89 / 0.92
// test accuracy after 8 epochs of the default 4000 samples (64 units: 0.85); with init_gain 1 the
// same network learns more slowly. Bursts and dropouts are the hard kinds (0.78-0.87 each), level
// shifts the easy one (0.98).
//
// Randomness: sample i of split s (train = 0, test = 1) draws only from
// CounterRng(seed, RngPurpose::anomaly, {s, i, part}) with part = 0: label (counter 0), kind (1),
// L (2), t0 (3), m (4), shift sign (5), D (6); 1: latent wave k, frequency at 2k, phase at 2k+1;
// 2: channel c, frequency at 3c, phase at 3c+1, d_c at 3c+2; 3: n_ck at c*K + k; 4: e_c(t) at
// t*C + c; 5: the channels, a partial Fisher-Yates shuffle of 0..C-1 (draw j at counter j swaps
// position j with U{j .. C-1}; the first m, sorted). Hence train and test never share a stream,
// sample i does not depend on the split size or the thread count, and a sample drawn with another
// kind (make_anomaly_sample) keeps exactly the same normal part. Draws: U[a, b] = a + (b - a) u
// with u = uniform(counter); U{a .. b} = a + below(counter, b - a + 1); N(0, 1) = normal(counter);
// y = 1 iff uniform(0) < anomaly_fraction; kind = (burst, level_shift, dropout)[below(1, 3)];
// s = -1 iff uniform(5) < 0.5. Arithmetic is double; values are rounded to float after the clip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "data/dataset.hpp"

namespace homeostat {

struct AnomalySpec {
  std::size_t channels = 8;          // C, signal channels (>= 1)
  std::size_t steps = 50;            // T, time steps per sample; sample_shape = {steps, channels}
  std::size_t train_samples = 4000;  // samples in the "train" split (>= 1)
  std::size_t test_samples = 1000;   // samples in the "test" split (>= 1)
  double anomaly_fraction = 0.5;     // probability that a sample has an anomaly (label 1), [0, 1]
  double noise = 0.1;                // sigma, sd of the additive Gaussian noise (value units, >= 0)
  double amplitude = 0.6;            // burst height and level-shift size (value units, [0, 1])
  double baseline = 0.4;             // mu, mean signal level (value units, [0, 1])
  double level_jitter = 0.075;       // half-width of the per-sample level D (value units, >= 0)
  double channel_jitter = 0.05;      // half-width of the per-channel offset d_c (value, >= 0)
  double oscillation = 0.1;          // A, amplitude of the oscillation s_c(t) (value units, >= 0)
  double min_frequency = 0.02;       // lowest wave frequency (cycles per step, > 0)
  double max_frequency = 0.15;       // highest wave frequency (cycles/step, in [min, 0.5])
  std::size_t latent_components = 2;  // K, shared latent waves (0: independent channels)
  double latent_share = 0.5;          // rho, common share of s_c ([0, 1]; must be 0 when K = 0)
  std::size_t min_onset = 5;          // earliest anomaly onset t0 (steps)
  std::size_t max_onset = 30;         // latest anomaly onset t0 (steps, >= min_onset)
  std::size_t min_duration = 8;       // shortest burst / dropout window L (steps, >= 1)
  std::size_t max_duration = 14;      // longest burst / dropout window L (steps, >= min_duration)
  std::size_t min_shift_steps = 10;   // a level shift lasts at least this many steps (>= 1)
  std::size_t min_affected = 3;       // fewest channels an anomaly affects (>= 1)
  std::size_t max_affected = 5;       // most channels an anomaly affects (in [min, channels])
  double dropout_level = 0.02;        // flat value of a dropped-out channel (value units, [0, 1])
};

// ConfigError naming the field (and the valid range) for a value out of range, including a
// `steps` too short for the onset plus the longest window (min_onset + max(max_duration,
// min_shift_steps) <= steps).
void validate_anomaly_spec(const AnomalySpec& spec);

enum class AnomalyKind { none, burst, level_shift, dropout };
std::string_view anomaly_kind_name(AnomalyKind kind);  // "none" | "burst" | "level_shift" | ...

// Where and how a sample's anomaly acts (kind none: no anomaly, the other fields are unused).
struct AnomalyEvent {
  AnomalyKind kind = AnomalyKind::none;
  std::size_t onset = 0;              // t0, first affected step
  std::size_t end = 0;                // one past the last affected step (T for a level shift)
  std::vector<std::size_t> channels;  // affected channels, ascending
  double offset = 0.0;  // value added before the clip: +amplitude (burst), +-amplitude (shift)
};

struct AnomalySample {
  std::vector<float> values;  // [steps][channels], in [0, 1]
  AnomalyEvent event;
};

// Sample `index` of `split` ("train" | "test") drawn with the given kind instead of the one its
// label would pick; the normal part (waves, offsets, noise) and the event's window and channels
// are those the split's sample `index` has, so sample(kind) - sample(none) is the anomaly alone
// (up to clipping). ConfigError for a bad spec or split.
AnomalySample make_anomaly_sample(const AnomalySpec& spec, std::string_view split,
                                  std::uint64_t seed, std::uint64_t index, AnomalyKind kind);

// The kind every sample of the split has (none for label 0), e.g. to break accuracy down by kind.
std::vector<AnomalyKind> anomaly_kinds(const AnomalySpec& spec, std::string_view split,
                                       std::uint64_t seed);

// The whole split: train_samples or test_samples samples, labels 0/1, num_classes = 2,
// sample_shape {steps, channels}. ConfigError for a bad spec or a split other than train / test.
Dataset make_anomaly_split(const AnomalySpec& spec, std::string_view split, std::uint64_t seed);

}  // namespace homeostat
