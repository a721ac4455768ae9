// Input corruptions (see corruption.hpp). One OpenMP loop over samples; every draw is addressed
// by (sample, element), so the thread count cannot change the result.
#include "data/corruption.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "random/counter_rng.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

struct KindInfo {
  CorruptionKind kind;
  std::string_view name;
  double max_level;  // inclusive upper bound of the level
};

// Every kind, in enum order; a new kind adds one row here.
constexpr std::array<KindInfo, 3> kKinds = {{
    {CorruptionKind::gaussian, "gaussian", std::numeric_limits<double>::infinity()},
    {CorruptionKind::salt_pepper, "salt_pepper", 1.0},
    {CorruptionKind::drop_events, "drop_events", 1.0},
}};

std::string valid_names() {
  std::string names;
  for (const KindInfo& info : kKinds) names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

const KindInfo& kind_info(CorruptionKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  throw ConfigError("unknown corruption kind " + std::to_string(static_cast<std::uint64_t>(kind)) +
                    " (valid kinds: " + valid_names() + ")");
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string shortest(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// ConfigError unless `level` is a valid level for the kind; `item` names it in the message.
void check_level(const KindInfo& info, double level, std::string_view item) {
  if (!std::isfinite(level) || level < 0.0) {
    throw ConfigError("corruption '" + std::string(item) + "': the level must be a finite number " +
                      ">= 0");
  }
  if (level > info.max_level) {
    throw ConfigError("corruption '" + std::string(item) + "': the " + std::string(info.name) +
                      " level is a fraction and must be in [0, " + shortest(info.max_level) + "]");
  }
}

Corruption parse_item(std::string_view item) {
  const auto colon = item.find(':');
  if (colon == std::string_view::npos) {
    throw ConfigError(
        "corruption '" + std::string(item) +
        "' has no ':'; write name:level, e.g. gaussian:0.1 (valid names: " + valid_names() + ")");
  }
  const std::string_view name = trim(item.substr(0, colon));
  const std::string_view number = trim(item.substr(colon + 1));
  const KindInfo* info = nullptr;
  for (const KindInfo& candidate : kKinds) {
    if (candidate.name == name) info = &candidate;
  }
  if (!info) {
    throw ConfigError("unknown corruption '" + std::string(name) + "' in '" + std::string(item) +
                      "' (valid names: " + valid_names() + ")");
  }
  double level = 0.0;
  const char* end = number.data() + number.size();
  const auto result = std::from_chars(number.data(), end, level);
  if (number.empty() || result.ec != std::errc() || result.ptr != end) {
    throw ConfigError("corruption '" + std::string(item) + "': level '" + std::string(number) +
                      "' is not a number");
  }
  check_level(*info, level, item);
  return {info->kind, level};
}

}  // namespace

std::vector<Corruption> parse_corruptions(std::string_view text) {
  std::vector<Corruption> corruptions;
  if (trim(text).empty()) return corruptions;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view item = trim(
        text.substr(start, comma == std::string_view::npos ? text.size() - start : comma - start));
    if (item.empty()) {
      throw ConfigError("corruption list '" + std::string(text) +
                        "' has an empty item; write name:level[,name:level...]");
    }
    corruptions.push_back(parse_item(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return corruptions;
}

std::string_view corruption_kind_name(CorruptionKind kind) { return kind_info(kind).name; }

std::string corruption_name(const Corruption& corruption) {
  return std::string(corruption_kind_name(corruption.kind)) + ":" + shortest(corruption.level);
}

void check_corruption_applies(const Corruption& corruption, bool event_data) {
  const bool event_kind = corruption.kind == CorruptionKind::drop_events;
  if (event_kind == event_data) return;
  throw ConfigError("corruption '" + corruption_name(corruption) + "' applies to " +
                    (event_kind ? "event data, but this model reads images (use gaussian or "
                                  "salt_pepper)"
                                : "images, but this model reads event data (use drop_events)"));
}

Dataset corrupt(const Dataset& data, const Corruption& corruption, std::uint64_t seed) {
  const KindInfo& info = kind_info(corruption.kind);
  check_level(info, corruption.level, corruption_name(corruption));
  const auto kind_key = static_cast<std::uint64_t>(corruption.kind);
  check_corruption_applies(corruption, data.has_events());
  if (corruption.kind == CorruptionKind::drop_events) {
    Dataset result = data;
    result.events = drop_events(data.events, corruption.level, seed, kind_key);
    return result;
  }
  Dataset result = data;
  const std::size_t count = data.size();
  const std::size_t size = data.sample_size();
  if (count * size != data.samples.size()) {
    throw DataError("corrupt: the dataset holds " + std::to_string(data.samples.size()) +
                    " values, not labels x sample size = " + std::to_string(count * size));
  }
  const double level = corruption.level;
#pragma omp parallel for schedule(static) if (count * size >= kMinParallelWork)
  for (std::size_t i = 0; i < count; ++i) {
    const CounterRng rng(seed, RngPurpose::corruption, {kind_key, i});
    float* values = result.samples.data() + i * size;
    for (std::size_t j = 0; j < size; ++j) {
      double x = values[j];
      switch (corruption.kind) {
        case CorruptionKind::gaussian:
          x += level * rng.normal(j);
          break;
        case CorruptionKind::salt_pepper: {
          const double u = rng.uniform(j);
          if (u < level) x = u < 0.5 * level ? 0.0 : 1.0;
          break;
        }
        case CorruptionKind::drop_events:
          break;  // handled above
      }
      values[j] = static_cast<float>(std::clamp(x, 0.0, 1.0));
    }
  }
  return result;
}

}  // namespace homeostat
