// Config keeps the TOML text it started from and the edits made since, and replays them onto a
// fresh parse whenever it is read: toml++ drops source positions when nodes are copied, and a
// fresh parse keeps every error message's line numbers.
#include "homeostat/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <optional>

#include "api/config_document.hpp"
#include "common/error.hpp"
#include "config/config_reader.hpp"

namespace homeostat {
namespace {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (parts.back().empty())
      throw ConfigError("config key '" + std::string(key) + "': empty part");
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::optional<std::size_t> index_of(const std::string& part) {
  std::size_t index = 0;
  const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), index);
  if (error != std::errc{} || end != part.data() + part.size()) return std::nullopt;
  return index;
}

toml::array toml_list(const auto& values) {
  toml::array list;
  for (const auto& value : values) list.push_back(value);
  return list;
}

// Stores `value` under `name` in `table`, replacing what was there.
void assign(toml::table& table, const std::string& name, const ConfigValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          table.insert_or_assign(name, toml_list(v));
        } else {
          table.insert_or_assign(name, v);
        }
      },
      value);
}

// The table that holds the last part of `parts`, made on the way where missing; integer parts
// index arrays of tables ("network.layers.0.units").
toml::table& parent_table(toml::table& root, const std::vector<std::string>& parts,
                          std::string_view key) {
  toml::table* table = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* node = table->get(parts[i]);
    if (node == nullptr) {
      table->insert(parts[i], toml::table{});
      node = table->get(parts[i]);
    }
    if (toml::array* array = node->as_array()) {
      const std::optional<std::size_t> index = index_of(parts[i + 1]);
      if (!index || *index >= array->size() || !array->get(*index)->is_table()) {
        throw ConfigError("config key '" + std::string(key) + "': '" + parts[i + 1] +
                          "' is not an entry of the array '" + parts[i] + "'");
      }
      ++i;
      if (i + 1 == parts.size()) {
        throw ConfigError("config key '" + std::string(key) + "' names an array entry, not a key");
      }
      table = array->get(*index)->as_table();
    } else if (node->is_table()) {
      table = node->as_table();
    } else {
      throw ConfigError("config key '" + std::string(key) + "': '" + parts[i] +
                        "' holds a value, not a table");
    }
  }
  return *table;
}

}  // namespace

void Config::Document::apply(ConfigDocument& document) const {
  for (const Edit& edit : edits) {
    if (const auto* assignment = std::get_if<std::string>(&edit)) {
      apply_override(document, *assignment);
    } else if (const auto* set = std::get_if<SetValue>(&edit)) {
      const std::vector<std::string> parts = split_key(set->key);
      assign(parent_table(document.root, parts, set->key), parts.back(), set->value);
    } else {
      const auto& append = std::get<AppendTable>(edit);
      const std::vector<std::string> parts = split_key(append.array_key);
      toml::table& parent = parent_table(document.root, parts, append.array_key);
      if (!parent.contains(parts.back())) parent.insert(parts.back(), toml::array{});
      toml::array* array = parent.get(parts.back())->as_array();
      if (array == nullptr) {
        throw ConfigError("config key '" + append.array_key + "' is not an array of tables");
      }
      toml::table entry;
      for (const auto& [name, value] : append.table) assign(entry, name, value);
      array->push_back(std::move(entry));
    }
  }
}

ConfigDocument Config::Document::materialize() const {
  ConfigDocument document = parse_config_string(text, source_name);
  apply(document);
  return document;
}

Config::Config() : document_(std::make_unique<Document>()) {}

Config Config::from_file(const std::filesystem::path& path) {
  return from_toml(read_config_text(path), path.string());
}

Config Config::from_toml(std::string_view text, std::string source_name) {
  parse_config_string(text, source_name);  // syntax errors now, with line and column
  Config config;
  config.document_->text = std::string(text);
  config.document_->source_name = std::move(source_name);
  return config;
}

Config::Config(const Config& other) : document_(std::make_unique<Document>(*other.document_)) {}
Config& Config::operator=(const Config& other) {
  if (this != &other) document_ = std::make_unique<Document>(*other.document_);
  return *this;
}
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::~Config() = default;

void Config::Document::add(Edit edit) {
  edits.push_back(std::move(edit));
  try {
    static_cast<void>(materialize());  // a bad edit fails here, where it was made
  } catch (...) {
    edits.pop_back();
    throw;
  }
}

Config& Config::set(std::string_view assignment) {
  document_->add(std::string(assignment));
  return *this;
}

Config& Config::set(std::string_view key, const ConfigValue& value) {
  document_->add(Document::SetValue{std::string(key), value});
  return *this;
}

Config& Config::append(std::string_view array_key, const ConfigTable& table) {
  document_->add(Document::AppendTable{std::string(array_key), table});
  return *this;
}

std::string Config::to_toml() const { return to_toml_string(document_->materialize().root); }

}  // namespace homeostat
