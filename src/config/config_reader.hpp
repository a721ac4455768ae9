// Config reading: parses TOML files, applies --set overrides and reads each table through a
// ConfigSection that checks every key's name, type and range before any work starts. Every error
// names the full key path and its source line (or the --set override the value came from).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/key_reader.hpp"
#include "config/key_catalog.hpp"

namespace homeostat {

// A parsed config document plus where it came from.
// Move it rather than copy it: toml++ drops source positions when nodes are copied, so a copy
// would report errors without line numbers.
struct ConfigDocument {
  toml::table root;
  std::string source_name;  // file path shown in messages
  // Canonical key path ("network.layers[1].units") -> the --set text that last wrote it, so errors
  // on values from the command line can point at the override instead of a line.
  std::map<std::string, std::string, std::less<>> overrides;
  // When set, every key read is noted in it (the generated key reference).
  std::shared_ptr<KeyCatalog> catalog = nullptr;
};

// Parses a file; ConfigError with file, line and column on syntax errors or missing/unreadable
// file.
ConfigDocument load_config_file(const std::filesystem::path& path);
// The text of a config file; ConfigError when it is missing, a directory or unreadable.
std::string read_config_text(const std::filesystem::path& path);
// Parses TOML text; source_name is used in error messages.
ConfigDocument parse_config_string(std::string_view text, std::string source_name);

// Applies an override "a.b.c=value" or "network.layers.1.units=512" (integer path parts index
// arrays, e.g. arrays of tables). The value is parsed as a TOML value (42, 1e-3, true, "text",
// [1,2], {a=1}); a bare word that is not valid TOML is taken as a string (so
// --set train.optimizer=adam works), but text starting with [ { " or ' must be valid TOML.
// Creates missing intermediate tables; ConfigError for an index past the end, a path through a
// non-table, or a malformed override (no '=', empty key part, empty value). Records the override
// text in doc.overrides so later errors on that key can say "(from --set ...)".
void apply_override(ConfigDocument& doc, std::string_view assignment);

// Serializes the (resolved) table back to TOML text (toml++'s formatter).
std::string to_toml_string(const toml::table& table);

// Reads one table of a config, remembering which keys were read, so unknown keys can be reported.
// Holds pointers into the document: the ConfigDocument must outlive every section made from it.
// Copies of a section share the set of read keys.
class ConfigSection final : public KeyReader {
 public:
  // path is "" for the root, "train", "network.layers[1]", ...
  ConfigSection(const ConfigDocument& doc, const toml::table& table, std::string path);

  const std::string& path() const;
  // Whether the key is present; does not count as reading it.
  bool has(std::string_view key) const override;

  // Typed getters: a missing key returns the fallback; a present key of the wrong type or out of
  // range throws ConfigError. Every getter marks its key as valid, whether present or not.
  // Accepts integers and floats; NaN is always rejected.
  double number(std::string_view key, double fallback, double min = kNoMin,
                double max = kNoMax) const override;
  double required_number(std::string_view key, double min = kNoMin,
                         double max = kNoMax) const override;
  // Rejects 2.5; accepts 2 (and 2.0, since TOML writers often emit 1e3 for counts).
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min = kNoIntMin,
                       std::int64_t max = kNoIntMax) const override;
  std::int64_t required_integer(std::string_view key, std::int64_t min = kNoIntMin,
                                std::int64_t max = kNoIntMax) const override;
  bool boolean(std::string_view key, bool fallback) const override;
  std::string string(std::string_view key, std::string fallback) const override;
  std::string required_string(std::string_view key) const override;
  // A string that must be one of `choices`; the error lists the choices.
  std::string choice(std::string_view key, std::string fallback,
                     std::initializer_list<std::string_view> choices) const override;
  // The same for choices known only at run time (e.g. the neuron model table's names).
  std::string choice_among(std::string_view key, std::string fallback,
                           std::span<const std::string_view> choices) const;
  std::vector<std::int64_t> integer_list(std::string_view key, std::vector<std::int64_t> fallback,
                                         std::int64_t min = kNoIntMin,
                                         std::int64_t max = kNoIntMax) const;
  std::vector<double> number_list(std::string_view key,
                                  std::vector<double> fallback) const override;
  std::vector<std::string> string_list(std::string_view key,
                                       std::vector<std::string> fallback) const override;

  // Sub-tables. A missing table yields an empty section (all defaults). Wrong type -> ConfigError.
  ConfigSection table(std::string_view key) const;
  std::unique_ptr<KeyReader> subtable(std::string_view key) const override;
  // [[key]] entries, with paths "key[i]"; a missing key yields no entries.
  std::vector<ConfigSection> array_of_tables(std::string_view key) const;

  // Throws ConfigError for the first key (by line) present in this table but never read, with its
  // line and the list of valid keys read so far. Call after reading all keys of a section;
  // sub-sections check themselves.
  void reject_unknown_keys() const override;

  // Builds a ConfigError for this section's key with line info (for cross-field checks done by
  // callers, e.g. a shape mismatch): "config error: FILE line N: key 'network.layers[2].units':
  // MESSAGE". An empty key refers to this section's table itself.
  [[nodiscard]] ConfigError error(std::string_view key, std::string_view message) const override;

 private:
  // Marks the key as read and returns its node, or nullptr when absent.
  const toml::node* read(std::string_view key) const;
  // Notes the key in the document's catalog, when it has one.
  void note(std::string_view key, std::string type, std::string default_value,
            std::string allowed = {}) const;
  std::string key_path(std::string_view key) const;
  [[nodiscard]] ConfigError node_error(const std::string& full_path, const toml::node* node,
                                       std::string_view message) const;
  [[nodiscard]] ConfigError missing_error(std::string_view key) const;
  double checked_number(const std::string& full_path, const toml::node& node, double min,
                        double max) const;
  std::int64_t checked_integer(const std::string& full_path, const toml::node& node,
                               std::int64_t min, std::int64_t max) const;
  std::string checked_string(const std::string& full_path, const toml::node& node) const;
  const toml::array* checked_array(const std::string& full_path, const toml::node& node) const;

  const ConfigDocument* doc_;
  const toml::table* table_;
  std::string path_;
  std::shared_ptr<std::set<std::string, std::less<>>> read_keys_;
};

// The run's `name` (fallback when absent): it names the run directory under output.directory,
// so it must be one plain file name: not empty, not "." or "..", no '/', no control characters
// (a NUL would cut the path short), at most 128 bytes. ConfigError at the key otherwise.
std::string read_run_name(const ConfigSection& root, std::string fallback);

}  // namespace homeostat
