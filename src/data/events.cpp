// Event streams: storage, selection, binning into frames, augmentation and event dropping.
#include "data/events.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.hpp"

namespace homeostat {

Event Event::make(std::uint16_t x, std::uint16_t y, std::uint32_t time_us, bool on) {
  Event event;
  event.time_and_polarity = (time_us & kMaxTime) | (on ? (1u << 31) : 0u);
  event.x = x;
  event.y = y;
  return event;
}

std::span<const Event> EventStreams::sample(std::size_t i) const {
  const auto begin = static_cast<std::size_t>(offsets[i]);
  const auto end = static_cast<std::size_t>(offsets[i + 1]);
  return std::span<const Event>(events).subspan(begin, end - begin);
}

void EventStreams::append(std::vector<Event> sample_events) {
  const auto earlier = [](const Event& a, const Event& b) { return a.time_us() < b.time_us(); };
  if (!std::is_sorted(sample_events.begin(), sample_events.end(), earlier)) {
    std::stable_sort(sample_events.begin(), sample_events.end(), earlier);
  }
  events.insert(events.end(), sample_events.begin(), sample_events.end());
  offsets.push_back(events.size());
}

EventStreams select_events(const EventStreams& all, std::span<const std::size_t> indices) {
  EventStreams part;
  part.width = all.width;
  part.height = all.height;
  part.offsets.reserve(indices.size() + 1);
  std::size_t total = 0;
  for (const std::size_t index : indices) total += all.sample(index).size();
  part.events.reserve(total);
  for (const std::size_t index : indices) {
    const std::span<const Event> sample = all.sample(index);
    part.events.insert(part.events.end(), sample.begin(), sample.end());
    part.offsets.push_back(part.events.size());
  }
  return part;
}

std::vector<std::size_t> event_frame_shape(std::size_t width, std::size_t height,
                                           std::size_t downsample) {
  if (downsample == 0) throw ConfigError("event downsample factor must be >= 1");
  return {2, (height + downsample - 1) / downsample, (width + downsample - 1) / downsample};
}

void bin_events(const EventStreams& streams, std::span<const std::size_t> indices,
                const EventBinning& binning, const EventAugment* augment, const CounterRng& rng,
                std::vector<float>& out) {
  if (binning.time_steps == 0) throw ConfigError("event binning needs time_steps >= 1");
  const std::vector<std::size_t> frame =
      event_frame_shape(streams.width, streams.height, binning.downsample);
  const std::size_t plane = frame[1] * frame[2];
  const std::size_t frame_size = 2 * plane;
  const std::size_t steps = binning.time_steps;
  const std::size_t per_sample = steps * frame_size;
  out.assign(indices.size() * per_sample, 0.0f);
  const auto width = static_cast<std::int64_t>(streams.width);
  const auto height = static_cast<std::int64_t>(streams.height);
  const auto batch = static_cast<std::int64_t>(indices.size());

#pragma omp parallel for schedule(dynamic, 4)
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::span<const Event> sample = streams.sample(indices[static_cast<std::size_t>(b)]);
    float* const frames = out.data() + static_cast<std::size_t>(b) * per_sample;
    if (sample.empty()) continue;
    const std::uint64_t counter_base = static_cast<std::uint64_t>(b) << 32;
    const double first = sample.front().time_us();
    const double window = binning.window_us > 0.0
                              ? binning.window_us
                              : static_cast<double>(sample.back().time_us()) - first + 1.0;
    std::int64_t dx = 0;
    std::int64_t dy = 0;
    double shift = 0.0;
    if (augment && augment->jitter > 0) {
      const auto span = static_cast<std::uint64_t>(2 * augment->jitter + 1);
      const auto jitter = static_cast<std::int64_t>(augment->jitter);
      dx = static_cast<std::int64_t>(rng.below(counter_base, span)) - jitter;
      dy = static_cast<std::int64_t>(rng.below(counter_base + 1, span)) - jitter;
    }
    if (augment && augment->time_shift > 0.0) {
      shift = (2.0 * rng.uniform(counter_base + 2) - 1.0) * augment->time_shift * window;
    }
    const bool drop = augment && augment->drop_event > 0.0;
    const double bins_per_us = static_cast<double>(steps) / window;
    for (std::size_t k = 0; k < sample.size(); ++k) {
      const Event& event = sample[k];
      // Counters 0-2 of a sample are its jitter and shift draws; event k uses 3 + k.
      if (drop && rng.uniform(counter_base + 3 + k) < augment->drop_event) continue;
      const std::int64_t x = std::int64_t{event.x} + dx;
      const std::int64_t y = std::int64_t{event.y} + dy;
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      const double position = (static_cast<double>(event.time_us()) - first + shift) * bins_per_us;
      if (!(position >= 0.0)) continue;
      const auto step = static_cast<std::size_t>(position);
      if (step >= steps) continue;
      const std::size_t cell = step * frame_size + (event.on() ? 0 : plane) +
                               static_cast<std::size_t>(y) / binning.downsample * frame[2] +
                               static_cast<std::size_t>(x) / binning.downsample;
      frames[cell] += 1.0f;
    }
    if (binning.value == FrameValue::binary) {
      for (std::size_t i = 0; i < per_sample; ++i) frames[i] = std::min(frames[i], 1.0f);
    }
  }
}

EventStreams drop_events(const EventStreams& streams, double fraction, std::uint64_t seed,
                         std::uint64_t stream) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    throw ConfigError("drop_events: the fraction of events dropped must be in [0, 1], got " +
                      std::to_string(fraction));
  }
  EventStreams kept;
  kept.width = streams.width;
  kept.height = streams.height;
  kept.offsets.reserve(streams.offsets.size());
  kept.events.reserve(streams.events.size());
  for (std::size_t i = 0; i < streams.samples(); ++i) {
    const CounterRng rng(seed, RngPurpose::corruption, {stream, i});
    const std::span<const Event> sample = streams.sample(i);
    for (std::size_t k = 0; k < sample.size(); ++k) {
      if (rng.uniform(k) >= fraction) kept.events.push_back(sample[k]);
    }
    kept.offsets.push_back(kept.events.size());
  }
  return kept;
}

}  // namespace homeostat
