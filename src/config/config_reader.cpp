// Config reading: TOML parsing, --set overrides and validated, position-aware key access.
#include "config/config_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace homeostat {
namespace {

constexpr std::string_view kPrefix = "config error: ";

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Shortest text that reads back to the same double ("0.001", "1e+30", "inf").
std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string range_text(double min, double max) {
  const bool has_min = min != ConfigSection::kNoMin;
  const bool has_max = max != ConfigSection::kNoMax;
  if (has_min && has_max)
    return "must be between " + format_number(min) + " and " + format_number(max);
  if (has_min) return "must be >= " + format_number(min);
  return "must be <= " + format_number(max);
}

std::string range_text(std::int64_t min, std::int64_t max) {
  const bool has_min = min != ConfigSection::kNoIntMin;
  const bool has_max = max != ConfigSection::kNoIntMax;
  if (has_min && has_max)
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  if (has_min) return "must be >= " + std::to_string(min);
  return "must be <= " + std::to_string(max);
}

std::string join(const auto& items, std::string_view separator) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

// True when `path` is `prefix` itself or lies inside it ("a.b" and "a[1]" lie inside "a").
bool path_within(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  if (path.size() == prefix.size()) return true;
  const char next = path[prefix.size()];
  return next == '.' || next == '[';
}

// The --set text that produced the value at `full_path`, if any (innermost override wins).
const std::string* override_for(const ConfigDocument& doc, std::string_view full_path) {
  const std::string* found = nullptr;
  std::size_t found_length = 0;
  for (const auto& [path, assignment] : doc.overrides) {
    if (path_within(full_path, path) && (found == nullptr || path.size() > found_length)) {
      found = &assignment;
      found_length = path.size();
    }
  }
  return found;
}

// "FILE line N" or just "FILE" when the value has no position (or came from an override), plus
// " (from --set ...)" for overridden values.
struct Origin {
  std::string where;
  std::string from_override;
};

Origin origin_of(const ConfigDocument& doc, std::string_view full_path, std::uint32_t line) {
  if (const std::string* assignment = override_for(doc, full_path)) {
    return {doc.source_name, " (from --set " + *assignment + ")"};
  }
  if (line == 0) return {doc.source_name, ""};
  return {doc.source_name + " line " + std::to_string(line), ""};
}

std::uint32_t line_of(const toml::node* node) { return node ? node->source().begin.line : 0; }

bool is_index(std::string_view part, std::size_t& index) {
  if (part.empty()) return false;
  const auto result = std::from_chars(part.data(), part.data() + part.size(), index);
  return result.ec == std::errc{} && result.ptr == part.data() + part.size();
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    parts.push_back(trim(text.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

ConfigError syntax_error(const std::string& source_name, const toml::parse_error& error) {
  const auto& begin = error.source().begin;
  return ConfigError(std::string(kPrefix) + source_name + " line " + std::to_string(begin.line) +
                     ", column " + std::to_string(begin.column) + ": " +
                     std::string(error.description()));
}

const toml::table& empty_table() {
  static const toml::table empty;
  return empty;
}

// Applies one --set assignment; every failure names the assignment.
class OverrideApplier {
 public:
  OverrideApplier(ConfigDocument& doc, std::string_view assignment)
      : doc_(doc), assignment_(assignment) {}

  void apply() {
    const auto equals = assignment_.find('=');
    if (equals == std::string_view::npos) throw fail("expected KEY=VALUE, but there is no '='");
    const std::string_view key_text = trim(assignment_.substr(0, equals));
    const std::string_view value_text = trim(assignment_.substr(equals + 1));
    const std::vector<std::string_view> parts = split(key_text, '.');
    if (std::ranges::any_of(parts, [](std::string_view part) { return part.empty(); })) {
      throw fail("key '" + std::string(key_text) + "' has an empty part");
    }
    if (value_text.empty()) throw fail("missing value (write KEY=\"\" for an empty string)");
    const toml::table holder = parse_value(value_text);
    const toml::node& value = *holder.get("v");

    toml::node* container = &doc_.root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) container = &step_into(*container, parts[i]);
    assign(*container, parts.back(), value);
    record();
  }

 private:
  ConfigError fail(std::string_view message) const {
    return ConfigError(std::string(kPrefix) + doc_.source_name + ": --set " +
                       std::string(assignment_) + ": " + std::string(message));
  }

  // The value as TOML ("v = <text>"); a bare word that is not TOML becomes a string.
  toml::table parse_value(std::string_view text) const {
    // Text that opens a TOML string, array or inline table was meant as TOML: report its error.
    const bool looks_like_toml = text.find_first_of("[{\"'") == 0;
    try {
      toml::table parsed = toml::parse("v = " + std::string(text));
      if (parsed.size() == 1 && parsed.contains("v")) return parsed;
    } catch (const toml::parse_error& error) {
      if (looks_like_toml) throw fail("invalid TOML value: " + std::string(error.description()));
    }
    if (looks_like_toml) throw fail("the value is not a single TOML value");
    toml::table holder;
    holder.insert("v", std::string(text));
    return holder;
  }

  std::size_t array_index(const toml::array& array, std::string_view part) const {
    std::size_t index = 0;
    if (!is_index(part, index)) {
      throw fail("'" + path_ + "' is an array, so the next key part must be an index, not '" +
                 std::string(part) + "'");
    }
    if (index >= array.size()) {
      throw fail("index " + std::to_string(index) + " is past the end of '" + path_ + "' (it has " +
                 std::to_string(array.size()) + " elements)");
    }
    return index;
  }

  void extend_path(std::string_view part, bool is_array_index) {
    if (is_array_index) {
      path_ += "[" + std::string(part) + "]";
    } else {
      if (!path_.empty()) path_ += '.';
      path_ += part;
    }
  }

  [[noreturn]] void fail_not_container(const toml::node& node, std::string_view part) const {
    throw fail("'" + path_ + "' is " + std::string(type_name(node)) +
               ", not a table, so it has no key '" + std::string(part) + "'");
  }

  // Moves one key part down, creating a missing table on the way.
  toml::node& step_into(toml::node& container, std::string_view part) {
    if (toml::table* table = container.as_table()) {
      toml::node* child = table->get(part);
      if (child == nullptr) child = &table->insert(std::string(part), toml::table{}).first->second;
      extend_path(part, false);
      return *child;
    }
    if (toml::array* array = container.as_array()) {
      const std::size_t index = array_index(*array, part);
      extend_path(part, true);
      return *array->get(index);
    }
    fail_not_container(container, part);
  }

  // Stores a copy of the value; copies carry no source position, so later errors cannot show a
  // misleading line from the override's own one-line document.
  void assign(toml::node& container, std::string_view part, const toml::node& value) {
    if (toml::table* table = container.as_table()) {
      value.visit([&](const auto& typed) { table->insert_or_assign(std::string(part), typed); });
      extend_path(part, false);
      return;
    }
    if (toml::array* array = container.as_array()) {
      const std::size_t index = array_index(*array, part);
      const auto position = array->cbegin() + static_cast<std::ptrdiff_t>(index);
      value.visit([&](const auto& typed) { array->replace(position, typed); });
      extend_path(part, true);
      return;
    }
    fail_not_container(container, part);
  }

  // The new override supersedes older ones at or below its path.
  void record() {
    std::erase_if(doc_.overrides,
                  [&](const auto& entry) { return path_within(entry.first, path_); });
    doc_.overrides.emplace(path_, std::string(assignment_));
  }

  ConfigDocument& doc_;
  std::string_view assignment_;
  std::string path_;  // canonical path walked so far, e.g. "network.layers[1]"
};

}  // namespace

std::string read_config_text(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code status_error;
  const auto status = std::filesystem::status(path, status_error);
  if (!std::filesystem::exists(status)) {
    throw ConfigError(std::string(kPrefix) + name + ": config file not found");
  }
  if (std::filesystem::is_directory(status)) {
    throw ConfigError(std::string(kPrefix) + name + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(std::string(kPrefix) + name + ": config file cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(std::string(kPrefix) + name + ": config file cannot be read");
  return text.str();
}

ConfigDocument load_config_file(const std::filesystem::path& path) {
  return parse_config_string(read_config_text(path), path.string());
}

ConfigDocument parse_config_string(std::string_view text, std::string source_name) {
  try {
    // Moved, not copied, into the document so nodes keep their source positions.
    toml::table root = toml::parse(text, std::string_view(source_name));
    return ConfigDocument{std::move(root), std::move(source_name), {}, nullptr};
  } catch (const toml::parse_error& error) {
    throw syntax_error(source_name, error);
  }
}

namespace {

constexpr const char* kRequired = "(required)";

// The default of a number key as the reference shows it: TOML's spelling, always with a point
// or an exponent so it reads as a float.
std::string number_text(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string written = format_number(value);
  if (written.find_first_of(".e") == std::string::npos) written += ".0";
  return written;
}

// The allowed range of a key for the reference ("[0.0, 1.0]", ">= 1"); empty when unbounded.
std::string reference_range(double min, double max) {
  if (min == ConfigSection::kNoMin && max == ConfigSection::kNoMax) return "";
  if (min != ConfigSection::kNoMin && max != ConfigSection::kNoMax) {
    return "[" + number_text(min) + ", " + number_text(max) + "]";
  }
  return min != ConfigSection::kNoMin ? ">= " + number_text(min) : "<= " + number_text(max);
}

std::string reference_range(std::int64_t min, std::int64_t max) {
  const bool low = min != ConfigSection::kNoIntMin;
  const bool high = max != ConfigSection::kNoIntMax;
  if (low && high) return "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (low) return ">= " + std::to_string(min);
  if (high) return "<= " + std::to_string(max);
  return "";
}

std::string quoted_text(const std::string& text) { return "\"" + text + "\""; }

std::string list_text(const std::vector<double>& values) {
  std::string text;
  for (const double v : values) text += (text.empty() ? "" : ", ") + number_text(v);
  return "[" + text + "]";
}
std::string list_text(const std::vector<std::int64_t>& values) {
  std::string text;
  for (const std::int64_t v : values) text += (text.empty() ? "" : ", ") + std::to_string(v);
  return "[" + text + "]";
}
std::string list_text(const std::vector<std::string>& values) {
  std::string text;
  for (const std::string& v : values) text += (text.empty() ? "" : ", ") + quoted_text(v);
  return "[" + text + "]";
}

}  // namespace

void apply_override(ConfigDocument& doc, std::string_view assignment) {
  OverrideApplier(doc, assignment).apply();
}

std::string to_toml_string(const toml::table& table) {
  std::ostringstream out;
  out << toml::toml_formatter{table};
  return out.str();
}

ConfigSection::ConfigSection(const ConfigDocument& doc, const toml::table& table, std::string path)
    : doc_(&doc),
      table_(&table),
      path_(std::move(path)),
      read_keys_(std::make_shared<std::set<std::string, std::less<>>>()) {}

const std::string& ConfigSection::path() const { return path_; }

bool ConfigSection::has(std::string_view key) const { return table_->contains(key); }

double ConfigSection::number(std::string_view key, double fallback, double min, double max) const {
  note(key, "number", number_text(fallback), reference_range(min, max));
  const toml::node* node = read(key);
  return node ? checked_number(key_path(key), *node, min, max) : fallback;
}

double ConfigSection::required_number(std::string_view key, double min, double max) const {
  note(key, "number", kRequired, reference_range(min, max));
  const toml::node* node = read(key);
  if (node == nullptr) throw missing_error(key);
  return checked_number(key_path(key), *node, min, max);
}

std::int64_t ConfigSection::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max) const {
  note(key, "integer", std::to_string(fallback), reference_range(min, max));
  const toml::node* node = read(key);
  return node ? checked_integer(key_path(key), *node, min, max) : fallback;
}

std::int64_t ConfigSection::required_integer(std::string_view key, std::int64_t min,
                                             std::int64_t max) const {
  note(key, "integer", kRequired, reference_range(min, max));
  const toml::node* node = read(key);
  if (node == nullptr) throw missing_error(key);
  return checked_integer(key_path(key), *node, min, max);
}

bool ConfigSection::boolean(std::string_view key, bool fallback) const {
  note(key, "boolean", fallback ? "true" : "false");
  const toml::node* node = read(key);
  if (node == nullptr) return fallback;
  if (const auto* value = node->as_boolean()) return value->get();
  throw node_error(key_path(key), node, "expected a boolean, got " + std::string(type_name(*node)));
}

std::string ConfigSection::string(std::string_view key, std::string fallback) const {
  note(key, "string", quoted_text(fallback));
  const toml::node* node = read(key);
  return node ? checked_string(key_path(key), *node) : fallback;
}

std::string ConfigSection::required_string(std::string_view key) const {
  note(key, "string", kRequired);
  const toml::node* node = read(key);
  if (node == nullptr) throw missing_error(key);
  return checked_string(key_path(key), *node);
}

std::string ConfigSection::choice(std::string_view key, std::string fallback,
                                  std::initializer_list<std::string_view> choices) const {
  return choice_among(key, std::move(fallback), std::span(choices.begin(), choices.size()));
}

std::string ConfigSection::choice_among(std::string_view key, std::string fallback,
                                        std::span<const std::string_view> choices) const {
  note(key, "string", quoted_text(fallback), join(choices, ", "));
  const toml::node* node = read(key);
  if (node == nullptr) return fallback;
  const std::string full_path = key_path(key);
  std::string value = checked_string(full_path, *node);
  if (std::ranges::find(choices, std::string_view(value)) == choices.end()) {
    throw node_error(
        full_path, node,
        "'" + value + "' is not a valid choice (must be one of: " + join(choices, ", ") + ")");
  }
  return value;
}

std::vector<std::int64_t> ConfigSection::integer_list(std::string_view key,
                                                      std::vector<std::int64_t> fallback,
                                                      std::int64_t min, std::int64_t max) const {
  note(key, "integer list", list_text(fallback), reference_range(min, max));
  const toml::node* node = read(key);
  if (node == nullptr) return fallback;
  const std::string full_path = key_path(key);
  const toml::array& array = *checked_array(full_path, *node);
  std::vector<std::int64_t> values;
  values.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    values.push_back(
        checked_integer(full_path + "[" + std::to_string(i) + "]", *array.get(i), min, max));
  }
  return values;
}

std::vector<double> ConfigSection::number_list(std::string_view key,
                                               std::vector<double> fallback) const {
  note(key, "number list", list_text(fallback));
  const toml::node* node = read(key);
  if (node == nullptr) return fallback;
  const std::string full_path = key_path(key);
  const toml::array& array = *checked_array(full_path, *node);
  std::vector<double> values;
  values.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    values.push_back(
        checked_number(full_path + "[" + std::to_string(i) + "]", *array.get(i), kNoMin, kNoMax));
  }
  return values;
}

std::vector<std::string> ConfigSection::string_list(std::string_view key,
                                                    std::vector<std::string> fallback) const {
  note(key, "string list", list_text(fallback));
  const toml::node* node = read(key);
  if (node == nullptr) return fallback;
  const std::string full_path = key_path(key);
  const toml::array& array = *checked_array(full_path, *node);
  std::vector<std::string> values;
  values.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    values.push_back(checked_string(full_path + "[" + std::to_string(i) + "]", *array.get(i)));
  }
  return values;
}

ConfigSection ConfigSection::table(std::string_view key) const {
  const toml::node* node = read(key);
  const std::string full_path = key_path(key);
  if (node == nullptr) return ConfigSection(*doc_, empty_table(), full_path);
  const toml::table* sub_table = node->as_table();
  if (sub_table == nullptr) {
    throw node_error(full_path, node, "expected a table, got " + std::string(type_name(*node)));
  }
  return ConfigSection(*doc_, *sub_table, full_path);
}

std::unique_ptr<KeyReader> ConfigSection::subtable(std::string_view key) const {
  return std::make_unique<ConfigSection>(table(key));
}

std::vector<ConfigSection> ConfigSection::array_of_tables(std::string_view key) const {
  const toml::node* node = read(key);
  if (node == nullptr) return {};
  const std::string full_path = key_path(key);
  const toml::array& array = *checked_array(full_path, *node);
  std::vector<ConfigSection> sections;
  sections.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string element_path = full_path + "[" + std::to_string(i) + "]";
    const toml::node* element = array.get(i);
    const toml::table* element_table = element->as_table();
    if (element_table == nullptr) {
      throw node_error(element_path, element,
                       "expected a table, got " + std::string(type_name(*element)));
    }
    sections.emplace_back(*doc_, *element_table, element_path);
  }
  return sections;
}

void ConfigSection::reject_unknown_keys() const {
  // Report the earliest unknown key in the file; positionless (overridden) keys come last.
  const toml::key* unknown = nullptr;
  std::pair<std::uint32_t, std::uint32_t> unknown_position{};
  for (const auto& [key, node] : *table_) {
    if (read_keys_->contains(key.str())) continue;
    const auto& begin = key.source().begin.line != 0 ? key.source().begin : node.source().begin;
    const std::pair<std::uint32_t, std::uint32_t> position{
        begin.line == 0 ? UINT32_MAX : begin.line, begin.column};
    if (unknown == nullptr || position < unknown_position) {
      unknown = &key;
      unknown_position = position;
    }
  }
  if (unknown == nullptr) return;
  const std::string full_path = key_path(unknown->str());
  const std::uint32_t line = unknown_position.first == UINT32_MAX ? 0 : unknown_position.first;
  const Origin origin = origin_of(*doc_, full_path, line);
  const std::string valid = read_keys_->empty() ? "none" : join(*read_keys_, ", ");
  throw ConfigError(std::string(kPrefix) + origin.where + ": unknown key '" + full_path + "'" +
                    origin.from_override + " (valid keys: " + valid + ")");
}

ConfigError ConfigSection::error(std::string_view key, std::string_view message) const {
  if (key.empty()) return node_error(path_, table_, message);
  return node_error(key_path(key), table_->get(key), message);
}

void ConfigSection::note(std::string_view key, std::string type, std::string default_value,
                         std::string allowed) const {
  if (!doc_->catalog) return;
  const toml::node* kind = table_->get("kind");
  const std::string kind_name =
      kind != nullptr && kind->is_string() ? kind->as_string()->get() : "";
  doc_->catalog->record(path_, key, kind_name,
                        {std::move(type), std::move(default_value), std::move(allowed), {}});
}

const toml::node* ConfigSection::read(std::string_view key) const {
  read_keys_->emplace(key);
  return table_->get(key);
}

std::string ConfigSection::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

ConfigError ConfigSection::node_error(const std::string& full_path, const toml::node* node,
                                      std::string_view message) const {
  const Origin origin = origin_of(*doc_, full_path, line_of(node));
  std::string text = std::string(kPrefix) + origin.where + ": ";
  if (!full_path.empty()) text += "key '" + full_path + "'" + origin.from_override + ": ";
  return ConfigError(text + std::string(message));
}

ConfigError ConfigSection::missing_error(std::string_view key) const {
  std::string text =
      std::string(kPrefix) + doc_->source_name + ": missing required key '" + key_path(key) + "'";
  // The root table spans the whole file, so only named tables get a position hint.
  if (!path_.empty()) {
    if (const std::string* assignment = override_for(*doc_, path_)) {
      text += " (in table from --set " + *assignment + ")";
    } else if (const std::uint32_t line = line_of(table_); line != 0) {
      text += " (in table starting at line " + std::to_string(line) + ")";
    }
  }
  return ConfigError(text);
}

double ConfigSection::checked_number(const std::string& full_path, const toml::node& node,
                                     double min, double max) const {
  double value = 0.0;
  if (const auto* floating = node.as_floating_point()) {
    value = floating->get();
  } else if (const auto* integral = node.as_integer()) {
    value = static_cast<double>(integral->get());
  } else {
    throw node_error(full_path, &node, "expected a number, got " + std::string(type_name(node)));
  }
  // NaN passes every comparison-based range check, and no setting has a use for it.
  if (std::isnan(value)) throw node_error(full_path, &node, "nan is not allowed");
  if (value < min || value > max) {
    throw node_error(full_path, &node,
                     format_number(value) + " is out of range (" + range_text(min, max) + ")");
  }
  return value;
}

std::int64_t ConfigSection::checked_integer(const std::string& full_path, const toml::node& node,
                                            std::int64_t min, std::int64_t max) const {
  std::int64_t value = 0;
  if (const auto* integral = node.as_integer()) {
    value = integral->get();
  } else if (const auto* floating = node.as_floating_point()) {
    const double number = floating->get();
    // An exactly integral float in int64 range (e.g. 1e3) is accepted; 2.5, nan and inf are not.
    const bool exact = std::trunc(number) == number && number >= -0x1p63 && number < 0x1p63;
    if (!exact) {
      throw node_error(full_path, &node, "expected an integer, got " + format_number(number));
    }
    value = static_cast<std::int64_t>(number);
  } else {
    throw node_error(full_path, &node, "expected an integer, got " + std::string(type_name(node)));
  }
  if (value < min || value > max) {
    throw node_error(full_path, &node,
                     std::to_string(value) + " is out of range (" + range_text(min, max) + ")");
  }
  return value;
}

std::string ConfigSection::checked_string(const std::string& full_path,
                                          const toml::node& node) const {
  if (const auto* text = node.as_string()) return text->get();
  throw node_error(full_path, &node, "expected a string, got " + std::string(type_name(node)));
}

const toml::array* ConfigSection::checked_array(const std::string& full_path,
                                                const toml::node& node) const {
  if (const toml::array* array = node.as_array()) return array;
  throw node_error(full_path, &node, "expected an array, got " + std::string(type_name(node)));
}

std::string read_run_name(const ConfigSection& root, std::string fallback) {
  std::string name = root.string("name", std::move(fallback));
  const bool control = std::any_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      control || name.size() > 128) {
    throw root.error("name",
                     "must be a plain file name for the run directory: not empty, not '.' or "
                     "'..', no '/' or control characters, at most 128 bytes");
  }
  return name;
}

}  // namespace homeostat
