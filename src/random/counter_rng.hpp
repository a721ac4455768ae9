// Counter-based random numbers: every draw is a pure function of (seed, stream, counter), so a
// result never depends on how many threads drew the numbers or in which order. Streams are named
// by a few integers (e.g. {purpose, epoch, batch}); the counter is the element index.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>

namespace homeostat {

// Tags that keep the streams of different purposes apart.
enum class RngPurpose : std::uint64_t {
  init = 1,
  shuffle = 2,
  encode = 3,
  dropout = 4,
  split = 5,
  test = 6,
  noise = 7,
  anomaly = 8,     // synthetic anomaly-detection data (data/anomaly.hpp)
  corruption = 9,  // input corruptions (data/corruption.hpp)
  augment = 10,    // training-time data augmentation (data/events.hpp)
};

class CounterRng {
 public:
  CounterRng(std::uint64_t seed, std::initializer_list<std::uint64_t> stream) : key_(mix(seed)) {
    for (const std::uint64_t word : stream) key_ = mix(key_ ^ mix(word + 0x632BE59BD9B4E019ull));
  }
  CounterRng(std::uint64_t seed, RngPurpose purpose,
             std::initializer_list<std::uint64_t> stream = {})
      : CounterRng(seed, {}) {
    key_ = mix(key_ ^ static_cast<std::uint64_t>(purpose));
    for (const std::uint64_t word : stream) key_ = mix(key_ ^ mix(word + 0x632BE59BD9B4E019ull));
  }

  [[nodiscard]] std::uint64_t bits(std::uint64_t counter) const {
    return mix(key_ + counter * 0x9E3779B97F4A7C15ull);
  }
  // Uniform in [0, 1) with 53 (double) or 24 (float) random bits.
  [[nodiscard]] double uniform(std::uint64_t counter) const {
    return static_cast<double>(bits(counter) >> 11) * 0x1.0p-53;
  }
  [[nodiscard]] float uniform_float(std::uint64_t counter) const {
    return static_cast<float>(bits(counter) >> 40) * 0x1.0p-24f;
  }
  // Standard normal (Box-Muller on two independent counters).
  [[nodiscard]] double normal(std::uint64_t counter) const {
    const double u1 = 1.0 - uniform(2 * counter);  // in (0, 1]
    const double u2 = uniform(2 * counter + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // Uniform integer in [0, bound) for 0 < bound < 2^32, by multiply-shift (bias < 2^-32).
  [[nodiscard]] std::uint64_t below(std::uint64_t counter, std::uint64_t bound) const {
    return ((bits(counter) >> 32) * bound) >> 32;
  }

 private:
  // SplitMix64's finalizer: a bijective avalanche mix.
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t key_;
};

// A sequential view of one stream, for set-up work (initialization, shuffling) done on one thread.
class RngStream {
 public:
  explicit RngStream(CounterRng rng) : rng_(rng) {}
  double uniform() { return rng_.uniform(counter_++); }
  double normal() { return rng_.normal(counter_++); }
  std::uint64_t below(std::uint64_t bound) { return rng_.below(counter_++, bound); }

 private:
  CounterRng rng_;
  std::uint64_t counter_ = 0;
};

}  // namespace homeostat
