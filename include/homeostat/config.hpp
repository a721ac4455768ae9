// An experiment's configuration, built in code or read from TOML. It holds the same keys as a
// config file (docs/config.md); nothing is checked until an Experiment is made from it, which
// validates every key with the same rules and errors as `homeostat train` (ConfigError naming
// the key).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace homeostat {

// A value a config key can hold.
using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<double>,
                                 std::vector<std::string>>;
// The keys of one table, in order, e.g. one entry of network.layers or of homeostasis.
using ConfigTable = std::vector<std::pair<std::string, ConfigValue>>;

class Config {
 public:
  // An empty configuration: every key at its default.
  Config();
  // Reads a TOML file; ConfigError (file, line, column) when it cannot be read or parsed.
  static Config from_file(const std::filesystem::path& path);
  // Parses TOML text; `source_name` appears in error messages.
  static Config from_toml(std::string_view text, std::string source_name = "<config>");

  Config(const Config& other);
  Config& operator=(const Config& other);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

  // A --set style override: "train.lr=1e-3", "network.layers.0.units=512".
  Config& set(std::string_view assignment);
  // Sets a dotted key ("train.lr", "data.time_steps") to a value.
  Config& set(std::string_view key, const ConfigValue& value);
  // Appends a table to an array of tables ("network.layers", "homeostasis").
  Config& append(std::string_view array_key, const ConfigTable& table);
  // The configuration as TOML text (what `homeostat train` would read).
  [[nodiscard]] std::string to_toml() const;

 private:
  friend class Experiment;
  struct Document;
  std::unique_ptr<Document> document_;
};

}  // namespace homeostat
