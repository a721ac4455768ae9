// Event-camera data (N-MNIST, DVS-Gesture style): per-sample streams of (x, y, polarity,
// timestamp) events, and their binning into the time-major frames the network sees.
//
// Binning (papers' usual "spike tensor"): a sample's events are placed into T time bins and two
// polarity channels on the (downsampled) sensor grid:
//   window  = binning.window_us if > 0, else the sample's span (last t - first t + 1)
//   bin(e)  = floor((t_e - t_first + shift) * T / window), events outside [0, T) are dropped
//   cell    = (bin, polarity, y / downsample, x / downsample)
//   value   = number of events in the cell ("count") or min(count, 1) ("binary")
// The output is [batch][T][2 * H' * W'] floats, H' = ceil(height / downsample) (likewise W'),
// i.e. a sequence of T frames that the `direct` (or `rate`) encoder presents one per step.
//
// Augmentations (training only), each a pure function of (seed, epoch, batch, sample, event):
//   jitter = J      the whole sample moves by (dx, dy), each uniform in [-J, J] pixels; events
//                   that leave the sensor are dropped
//   drop_event = p  each event is dropped with probability p
//   time_shift = s  the whole sample moves in time by u * window, u uniform in [-s, s]; events
//                   that leave the window are dropped
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "random/counter_rng.hpp"

namespace homeostat {

// One event in 8 bytes: the timestamp in microseconds (31 bits) and the polarity (top bit), then
// the sensor coordinates.
struct Event {
  std::uint32_t time_and_polarity = 0;
  std::uint16_t x = 0;
  std::uint16_t y = 0;

  static constexpr std::uint32_t kMaxTime = (1u << 31) - 1;
  static Event make(std::uint16_t x, std::uint16_t y, std::uint32_t time_us, bool on);
  [[nodiscard]] std::uint32_t time_us() const { return time_and_polarity & kMaxTime; }
  [[nodiscard]] bool on() const { return (time_and_polarity >> 31) != 0; }
};
static_assert(sizeof(Event) == 8);

// Event streams of N samples, stored back to back: sample i owns events[offsets[i],
// offsets[i+1]), in time order.
struct EventStreams {
  std::size_t width = 0;  // sensor size in pixels; 0: this dataset holds no events
  std::size_t height = 0;
  std::vector<std::uint64_t> offsets{0};
  std::vector<Event> events;

  [[nodiscard]] bool empty_sensor() const { return width == 0; }
  [[nodiscard]] std::size_t samples() const { return offsets.size() - 1; }
  [[nodiscard]] std::span<const Event> sample(std::size_t i) const;
  // Appends one sample's events (sorted by time here, stably, if they are not).
  void append(std::vector<Event> sample_events);
};

// The streams of the samples at `indices`, in that order.
EventStreams select_events(const EventStreams& all, std::span<const std::size_t> indices);

enum class FrameValue { count, binary };

struct EventBinning {
  std::size_t time_steps = 10;
  std::size_t downsample = 1;  // sensor pixels per frame pixel along each axis (>= 1)
  FrameValue value = FrameValue::count;
  double window_us = 0.0;  // 0: each sample's own span
};

struct EventAugment {
  std::size_t jitter = 0;   // pixels
  double drop_event = 0.0;  // probability in [0, 1]
  double time_shift = 0.0;  // fraction of the window, >= 0
  [[nodiscard]] bool any() const { return jitter > 0 || drop_event > 0.0 || time_shift > 0.0; }
};

// Frame size after downsampling: {2 (polarity), H', W'}.
std::vector<std::size_t> event_frame_shape(std::size_t width, std::size_t height,
                                           std::size_t downsample);

// Bins the samples at `indices` into `out`, resized to [batch][T][2 * H' * W'] as described
// above. `augment` may be null (evaluation); with it, sample b of the batch draws from `rng` at
// counters (b << 32) + k. ConfigError for a zero time_steps or downsample.
void bin_events(const EventStreams& streams, std::span<const std::size_t> indices,
                const EventBinning& binning, const EventAugment* augment, const CounterRng& rng,
                std::vector<float>& out);

// Drops each event of sample i with probability `fraction`, drawing uniform(k) for event k from
// CounterRng(seed, RngPurpose::corruption, {stream, i}): a larger fraction drops a superset.
EventStreams drop_events(const EventStreams& streams, double fraction, std::uint64_t seed,
                         std::uint64_t stream);

}  // namespace homeostat
