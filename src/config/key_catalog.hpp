// The config keys as the code reads them: every getter of ConfigSection notes its key, type,
// default and allowed range here while a catalog is attached to the document. Reading every
// ready config and every regulator kind with a catalog attached gives the key reference
// (docs/config.md, `homeostat config-reference`), so the reference cannot drift from the code.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace homeostat {

class KeyCatalog {
 public:
  struct Key {
    std::string type;             // "number", "integer", "boolean", "string", "table", ...
    std::string default_value;    // as TOML would write it; "(required)" when there is none
    std::string allowed;          // range or choices; empty when any value of the type goes
    std::set<std::string> kinds;  // the `kind` of the tables it was read in ("": none given)
  };

  // `section` is the table's path ("train", "network.layers[2]"); array indices are dropped.
  void record(std::string_view section, std::string_view key, std::string_view kind, Key entry);
  // Markdown: one table per config section, keys in reading order within a section. A key read
  // for only some of the kinds its section was read as names those kinds.
  [[nodiscard]] std::string markdown() const;

 private:
  // Sections in the order they were first read, then their keys in reading order.
  std::map<std::string, std::size_t> section_order_;
  std::map<std::string, std::map<std::string, std::size_t>> key_order_;
  std::map<std::string, std::map<std::string, Key>> keys_;
  std::map<std::string, std::set<std::string>> section_kinds_;  // every kind a section was read as
};

}  // namespace homeostat
