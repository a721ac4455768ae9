// What a Config holds (include/homeostat/config.hpp): its TOML text and the edits made in code.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "config/config_reader.hpp"
#include "homeostat/config.hpp"

namespace homeostat {

struct Config::Document {
  struct SetValue {
    std::string key;
    ConfigValue value;
  };
  struct AppendTable {
    std::string array_key;
    ConfigTable table;
  };
  using Edit = std::variant<std::string, SetValue, AppendTable>;  // string: a --set assignment

  std::string text;
  std::string source_name = "<config>";
  std::vector<Edit> edits;

  // A fresh parse of the text with every edit applied (ConfigError on a bad edit).
  [[nodiscard]] ConfigDocument materialize() const;
  // Adds an edit that applies cleanly; ConfigError, and no change, when it does not.
  void add(Edit edit);

 private:
  void apply(ConfigDocument& document) const;
};

}  // namespace homeostat
