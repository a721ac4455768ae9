#include "config/key_catalog.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace homeostat {
namespace {

// "network.layers[3].units" -> "network.layers[].units": every [digits] becomes [].
std::string without_indices(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] != '[') continue;
    std::size_t end = i + 1;
    while (end < path.size() && path[end] >= '0' && path[end] <= '9') ++end;
    if (end > i + 1 && end < path.size() && path[end] == ']') i = end - 1;  // drop the digits
  }
  return out;
}

// The kinds a key is read for, when that is not every kind its section was read as.
std::string kinds_text(const std::set<std::string>& kinds, const std::set<std::string>& all) {
  if (kinds == all) return "";
  std::string text;
  for (const std::string& kind : kinds) {
    if (!kind.empty()) text += (text.empty() ? "" : ", ") + kind;
  }
  return text;
}

std::string cell(const std::string& text) {
  std::string escaped;
  for (const char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped.empty() ? " " : escaped;
}

}  // namespace

void KeyCatalog::record(std::string_view section, std::string_view key, std::string_view kind,
                        Key entry) {
  const std::string name = without_indices(section);
  section_order_.emplace(name, section_order_.size());
  auto& order = key_order_[name];
  order.emplace(std::string(key), order.size());
  auto [found, inserted] = keys_[name].emplace(std::string(key), entry);
  Key& stored = found->second;
  if (!inserted && stored.default_value != entry.default_value) {
    // Defaults that depend on the table's kind: keep the first and say it varies.
    if (stored.default_value.find(" (depends") == std::string::npos) {
      stored.default_value += " (depends on other keys)";
    }
  }
  stored.kinds.emplace(kind);
  section_kinds_[name].emplace(kind);
}

std::string KeyCatalog::markdown() const {
  std::vector<std::pair<std::size_t, std::string>> sections;
  for (const auto& [name, order] : section_order_) sections.emplace_back(order, name);
  std::sort(sections.begin(), sections.end());
  std::string text;
  for (const auto& [unused, section] : sections) {
    text += "\n## `" + (section.empty() ? std::string("(top level)") : section) + "`\n\n";
    text += "| key | type | default | allowed | only for kind |\n|---|---|---|---|---|\n";
    std::vector<std::pair<std::size_t, std::string>> keys;
    for (const auto& [key, order] : key_order_.at(section)) keys.emplace_back(order, key);
    std::sort(keys.begin(), keys.end());
    for (const auto& [order, key] : keys) {
      const Key& entry = keys_.at(section).at(key);
      text += "| `" + key + "` | " + entry.type + " | " + cell(entry.default_value) + " | " +
              cell(entry.allowed) + " | " +
              cell(kinds_text(entry.kinds, section_kinds_.at(section))) + " |\n";
    }
  }
  return text;
}

}  // namespace homeostat
