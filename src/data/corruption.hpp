// Input corruptions for out-of-distribution evaluation: a copy of a dataset with every value
// perturbed, clipped to [0, 1].
//   gaussian:L     x' = clip(x + L * n, 0, 1), n ~ N(0, 1)            (L = sigma, >= 0)
//   salt_pepper:L  with u ~ U[0, 1): x' = 0 if u < L/2, 1 if L/2 <= u < L, x otherwise
//                  (L = fraction of values replaced, in [0, 1]; half become 0, half 1)
// Randomness: value j of sample i uses CounterRng(seed, RngPurpose::corruption, {kind, i}) at
// counter j (normal(j) for gaussian, uniform(j) for salt_pepper), where kind is the enum's value.
// The level is not part of the key, so at one seed a stronger corruption perturbs the same values
// further (salt_pepper:0.1's replaced values are a subset of salt_pepper:0.2's), and the result
// never depends on the thread count or on the other samples.
//   drop_events:L  event data only: each event is dropped with probability L in [0, 1]
//                  (data/events.hpp drop_events; drop_events:1 leaves no events)
// Image kinds on event data, or drop_events on images, are a ConfigError.
// Adding a kind: append it to CorruptionKind, add a row to the
// kind table in corruption.cpp (name, level limit) and a case in corrupt().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.hpp"

namespace homeostat {

enum class CorruptionKind : std::uint64_t { gaussian = 0, salt_pepper = 1, drop_events = 2 };

struct Corruption {
  CorruptionKind kind = CorruptionKind::gaussian;
  double level = 0.0;  // gaussian: sigma (value units); salt_pepper: fraction of values replaced
};

// Parses a comma-separated list "name:level[,name:level...]", e.g. "gaussian:0.2,salt_pepper:0.1"
// (spaces around items, names and numbers are ignored). Empty or all-space text gives an empty
// list. ConfigError naming the offending item for: an empty item, a missing ':', an unknown name
// (listing the valid ones), a level that is not a number, negative or not finite, or a
// salt_pepper or drop_events level above 1.
std::vector<Corruption> parse_corruptions(std::string_view text);

// "gaussian" | "salt_pepper" | "drop_events".
std::string_view corruption_kind_name(CorruptionKind kind);
// "gaussian:0.2": the kind and the shortest text that reads back as the same level.
std::string corruption_name(const Corruption& corruption);

// ConfigError unless the corruption applies to the data: drop_events to event data, the others
// to images.
void check_corruption_applies(const Corruption& corruption, bool event_data);

// A copy of `data` (shape, labels and classes kept) with every value corrupted and clipped to
// [0, 1], or, for drop_events, with events dropped. ConfigError for a level parse_corruptions
// would reject or a kind that does not apply to the data (images vs events).
Dataset corrupt(const Dataset& data, const Corruption& corruption, std::uint64_t seed);

}  // namespace homeostat
