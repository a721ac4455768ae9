#include "sweep/sweep_spec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"

namespace homeostat {
namespace {

// The figures of a run's last epoch record (metrics.jsonl) that a sweep can summarize: numbers,
// and per-layer objects addressed as "<key>.<layer name>".
constexpr std::array<std::string_view, 13> kNumberMetrics = {
    "train_loss",       "train_accuracy",   "test_loss",
    "test_accuracy",    "validation_loss",  "validation_accuracy",
    "train_penalty",    "seconds",          "lr",
    "synops",           "information_bits", "synaptic_efficiency",
    "accuracy_per_rate"};
constexpr std::array<std::string_view, 5> kLayerMetrics = {"rate", "dead", "saturated", "test_rate",
                                                           "threshold_scale"};

// A value as TOML text for a --set override, written as a person would: 0.003 rather than
// toml++'s 0.0030000000000000001, a float keeping its point (1.0, not 1).
std::string toml_text(const toml::node& node) {
  if (const auto* number = node.as_floating_point()) {
    char text[64];
    const auto end = std::to_chars(text, text + sizeof text, number->get()).ptr;
    std::string shortest(text, end);
    if (shortest.find_first_of(".en") == std::string::npos) shortest += ".0";
    return shortest;
  }
  if (const auto* integer = node.as_integer()) return std::to_string(integer->get());
  if (const auto* boolean = node.as_boolean()) return boolean->get() ? "true" : "false";
  // A JSON string is a TOML basic string: the same quotes and escapes.
  if (const auto* string = node.as_string()) return nlohmann::json(string->get()).dump();
  std::ostringstream text;  // arrays, inline tables, dates
  node.visit([&text](const auto& value) {
    if constexpr (toml::is_table<decltype(value)>) {
      text << toml::toml_formatter(value);
    } else {
      text << value;
    }
  });
  return text.str();
}

// Walks [grid]: an array is one axis; a table nests keys ([grid.train] lr = [...] is the axis
// "train.lr", as is "train.lr" = [...]).
void read_axes(const ConfigDocument& document, const toml::table& table, const std::string& prefix,
               const std::string& section_path, std::vector<SweepAxis>& axes) {
  const ConfigSection section(document, table, section_path);
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    std::string axis_key = prefix;
    if (!axis_key.empty()) axis_key += ".";
    axis_key += name;
    if (const toml::table* nested = node.as_table()) {
      std::string nested_path = section_path;
      nested_path.append(".").append(name);
      read_axes(document, *nested, axis_key, nested_path, axes);
      continue;
    }
    const toml::array* values = node.as_array();
    if (values == nullptr || values->empty() || values->is_array_of_tables()) {
      throw section.error(name,
                          "a grid key takes a non-empty array of the values to sweep, e.g. "
                          "[1e-3, 3e-3]");
    }
    SweepAxis axis{axis_key, {}};
    std::set<std::string> seen;
    for (const toml::node& value : *values) {
      axis.values.push_back(toml_text(value));
      if (!seen.insert(axis.values.back()).second) {
        throw section.error(name, "lists the value " + axis.values.back() + " twice");
      }
    }
    if (axis_key == "seed" || axis_key == "name" || axis_key == "output.directory") {
      throw section.error(name, "is set by the sweep itself (seeds, run names, its folder)");
    }
    axes.push_back(std::move(axis));
  }
}

void check_metric(const ConfigSection& root, const std::string& metric) {
  if (std::find(kNumberMetrics.begin(), kNumberMetrics.end(), metric) != kNumberMetrics.end()) {
    return;
  }
  const auto dot = metric.find('.');
  if (dot != std::string::npos && dot + 1 < metric.size() &&
      std::find(kLayerMetrics.begin(), kLayerMetrics.end(), metric.substr(0, dot)) !=
          kLayerMetrics.end()) {
    return;
  }
  std::string known;
  for (const std::string_view m : kNumberMetrics)
    known += std::string(known.empty() ? "" : ", ") + std::string(m);
  for (const std::string_view m : kLayerMetrics) known += ", " + std::string(m) + ".<layer>";
  throw root.error("metrics",
                   "'" + metric + "' is not a figure of the epoch records; known: " + known);
}

}  // namespace

std::vector<std::string> SweepPoint::assignments(const SweepSpec& spec) const {
  std::vector<std::string> result;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    result.push_back(spec.axes[a].key + "=" + spec.axes[a].values[value_index[a]]);
  }
  return result;
}

SweepSpec load_sweep_spec(const std::filesystem::path& grid_file) {
  const ConfigDocument document = load_config_file(grid_file);
  const ConfigSection root(document, document.root, "");
  SweepSpec spec;
  spec.grid_file = grid_file;
  spec.name = read_run_name(root, grid_file.stem().string());
  const std::filesystem::path base = root.required_string("base");
  spec.base = base.is_absolute() ? base : grid_file.parent_path() / base;
  if (!std::filesystem::is_regular_file(spec.base)) {
    throw root.error("base", "no experiment config at '" + spec.base.string() +
                                 "' (a relative path is taken from the grid file's folder)");
  }
  for (const std::int64_t seed : root.integer_list("seeds", {}, 0)) {
    spec.seeds.push_back(static_cast<std::uint64_t>(seed));
  }
  if (spec.seeds.empty()) throw root.error("seeds", "list at least one seed, e.g. [1, 2, 3, 4, 5]");
  if (std::set<std::uint64_t>(spec.seeds.begin(), spec.seeds.end()).size() != spec.seeds.size()) {
    throw root.error("seeds", "lists a seed twice");
  }
  spec.metrics = root.string_list("metrics", {"test_accuracy", "train_loss"});
  if (spec.metrics.empty()) throw root.error("metrics", "name at least one figure to summarize");
  for (const std::string& metric : spec.metrics) check_metric(root, metric);
  spec.fixed_overrides = root.string_list("set", {});
  (void)root.table("grid");  // marks the key as read; its keys are config keys, read below
  if (const toml::table* grid = document.root["grid"].as_table()) {
    read_axes(document, *grid, "", "grid", spec.axes);
  }
  std::sort(spec.axes.begin(), spec.axes.end(),
            [](const SweepAxis& a, const SweepAxis& b) { return a.key < b.key; });
  if (spec.axes.empty()) {
    throw root.error("grid",
                     "name at least one config key to sweep, e.g. \"train.lr\" = [1e-3, 3e-3]");
  }
  const ConfigSection output = root.table("output");
  spec.directory = std::filesystem::path(output.string("directory", "runs")) / spec.name;
  output.reject_unknown_keys();
  root.reject_unknown_keys();
  spec.resolved_toml = to_toml_string(document.root);
  return spec;
}

std::vector<SweepPoint> sweep_points(const SweepSpec& spec) {
  std::vector<SweepPoint> points;
  std::vector<std::size_t> index(spec.axes.size(), 0);
  while (true) {
    points.push_back({points.size(), index});
    // The last axis varies fastest.
    std::size_t a = spec.axes.size();
    while (a > 0) {
      --a;
      if (++index[a] < spec.axes[a].values.size()) break;
      index[a] = 0;
      if (a == 0) return points;
    }
    if (spec.axes.empty()) return points;
  }
}

std::string sweep_run_name(std::size_t point, std::uint64_t seed) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict) on "p" + std::to_string(...) here.
  std::string name = "p";
  name.append(std::to_string(point)).append("_s").append(std::to_string(seed));
  return name;
}

std::vector<SweepRun> sweep_runs(const SweepSpec& spec) {
  std::vector<SweepRun> runs;
  for (const SweepPoint& point : sweep_points(spec)) {
    for (const std::uint64_t seed : spec.seeds) {
      SweepRun run;
      run.point = point.index;
      run.seed = seed;
      run.name = sweep_run_name(point.index, seed);
      run.overrides = spec.fixed_overrides;
      for (std::string& assignment : point.assignments(spec)) {
        run.overrides.push_back(std::move(assignment));
      }
      run.overrides.push_back("seed=" + std::to_string(seed));
      run.overrides.push_back("name=\"" + run.name + "\"");
      run.overrides.push_back("output.directory=" + nlohmann::json(spec.directory.string()).dump());
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

void check_sweep_configs(const SweepSpec& spec) {
  // One seed per point suffices: the seed changes no key, range or shape.
  for (const SweepPoint& point : sweep_points(spec)) {
    std::vector<std::string> overrides = spec.fixed_overrides;
    for (std::string& assignment : point.assignments(spec))
      overrides.push_back(std::move(assignment));
    try {
      (void)load_experiment(spec.base, overrides);
    } catch (const ConfigError& e) {
      std::string settings;
      for (const std::string& s : point.assignments(spec)) settings += " " + s;
      throw ConfigError("sweep point p" + std::to_string(point.index) + " (" + settings.substr(1) +
                        ") of '" + spec.grid_file.string() + "': " + e.what());
    }
  }
}

}  // namespace homeostat
