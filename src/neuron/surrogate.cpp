#include "neuron/surrogate.hpp"

#include "common/error.hpp"

namespace homeostat {

SurrogateKind parse_surrogate_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kSurrogateNames); ++i) {
    if (kSurrogateNames[i] == name) return static_cast<SurrogateKind>(i);
  }
  std::string valid;
  for (const auto known : kSurrogateNames)
    valid += (valid.empty() ? "" : ", ") + std::string(known);
  throw ConfigError("unknown surrogate '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string_view surrogate_kind_name(SurrogateKind kind) {
  return kSurrogateNames[static_cast<std::size_t>(kind)];
}

}  // namespace homeostat
