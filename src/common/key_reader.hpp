// The keys of one config table, as the code below the config layer sees them. A neuron model or
// a regulator reads its own keys through this interface (name, type, range and default in one
// call), so its parameters live beside its equations while TOML parsing stays in config/
// (config/config_reader.hpp implements it, with key paths and source lines in every error).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace homeostat {

class KeyReader {
 public:
  static constexpr double kNoMin = -std::numeric_limits<double>::infinity();
  static constexpr double kNoMax = std::numeric_limits<double>::infinity();
  static constexpr std::int64_t kNoIntMin = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kNoIntMax = std::numeric_limits<std::int64_t>::max();

  KeyReader() = default;
  virtual ~KeyReader() = default;
  KeyReader(const KeyReader&) = default;
  KeyReader& operator=(const KeyReader&) = default;
  KeyReader(KeyReader&&) = default;
  KeyReader& operator=(KeyReader&&) = default;

  // Whether the key is present; does not count as reading it.
  [[nodiscard]] virtual bool has(std::string_view key) const = 0;
  // Typed getters: a missing key gives the fallback; a present key of the wrong type or out of
  // range throws ConfigError naming the key. Every getter marks its key as valid.
  [[nodiscard]] virtual double number(std::string_view key, double fallback, double min = kNoMin,
                                      double max = kNoMax) const = 0;
  [[nodiscard]] virtual double required_number(std::string_view key, double min = kNoMin,
                                               double max = kNoMax) const = 0;
  [[nodiscard]] virtual std::int64_t integer(std::string_view key, std::int64_t fallback,
                                             std::int64_t min = kNoIntMin,
                                             std::int64_t max = kNoIntMax) const = 0;
  [[nodiscard]] virtual std::int64_t required_integer(std::string_view key,
                                                      std::int64_t min = kNoIntMin,
                                                      std::int64_t max = kNoIntMax) const = 0;
  [[nodiscard]] virtual bool boolean(std::string_view key, bool fallback) const = 0;
  [[nodiscard]] virtual std::string string(std::string_view key, std::string fallback) const = 0;
  [[nodiscard]] virtual std::string required_string(std::string_view key) const = 0;
  // A string that must be one of `choices`; the error lists them.
  [[nodiscard]] virtual std::string choice(
      std::string_view key, std::string fallback,
      std::initializer_list<std::string_view> choices) const = 0;
  [[nodiscard]] virtual std::vector<double> number_list(std::string_view key,
                                                        std::vector<double> fallback) const = 0;
  [[nodiscard]] virtual std::vector<std::string> string_list(
      std::string_view key, std::vector<std::string> fallback) const = 0;
  // A sub-table (missing: all defaults), checked for unknown keys by its own reader.
  [[nodiscard]] virtual std::unique_ptr<KeyReader> subtable(std::string_view key) const = 0;
  // Throws ConfigError for a key present in this table but never read.
  virtual void reject_unknown_keys() const = 0;
  // A ConfigError about `key` of this table (cross-field checks), with its line when known.
  [[nodiscard]] virtual ConfigError error(std::string_view key, std::string_view message) const = 0;
};

}  // namespace homeostat
