// A sweep: one experiment config run at every point of a grid of config keys, each point with
// every seed of a list. Read from a small TOML file (docs/guide.md#sweeps):
//
//   name = "w5_lr"                          # the sweep's folder: <output.directory>/<name>
//   base = "../experiments/w5.toml"         # relative to this file
//   seeds = [1, 2, 3, 4]
//   metrics = ["test_accuracy", "rate.hidden"]   # from each run's last epoch record
//   set = ["train.epochs=2"]                # --set overrides for every run
//   [grid]
//   "train.lr" = [1e-3, 3e-3]               # or nested: [grid.train] lr = [...]
//   [output]
//   directory = "runs"
//
// The points are the Cartesian product of the grid's keys (in alphabetical order, the last key
// varying fastest). Every run is named p<point>_s<seed> and validated as a whole config before
// any run starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace homeostat {

// One swept config key and its values, each as TOML text ("0.001", "\"adam\"", "[1, 2]").
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

struct SweepSpec {
  std::string name;
  std::filesystem::path grid_file;
  std::filesystem::path base;  // the experiment config, resolved against the grid file's folder
  std::vector<std::string> fixed_overrides;  // `set`
  std::vector<SweepAxis> axes;
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> metrics;  // "test_accuracy", or "<record key>.<layer>" ("rate.hidden")
  std::filesystem::path directory;   // <output.directory>/<name>
  std::string resolved_toml;         // the grid file as read, to tell a changed grid on restart
};

// One point of the grid: the value index of every axis.
struct SweepPoint {
  std::size_t index = 0;
  std::vector<std::size_t> value_index;  // one per axis
  // "key=value" for every axis, in axis order.
  [[nodiscard]] std::vector<std::string> assignments(const SweepSpec& spec) const;
};

struct SweepRun {
  std::size_t point = 0;
  std::uint64_t seed = 0;
  std::string name;  // "p<point>_s<seed>"
  // What `homeostat train <base>` gets: the fixed overrides, the point's values, then the seed,
  // the name and the output directory (the sweep's folder), which always win.
  std::vector<std::string> overrides;
};

// ConfigError naming the key and line for a bad grid file; DataError-free (reads no data).
SweepSpec load_sweep_spec(const std::filesystem::path& grid_file);

std::vector<SweepPoint> sweep_points(const SweepSpec& spec);
// "p<point>_s<seed>": the run's name and its folder in the sweep's folder.
std::string sweep_run_name(std::size_t point, std::uint64_t seed);
// Every run, point by point, seeds in the listed order.
std::vector<SweepRun> sweep_runs(const SweepSpec& spec);

// Validates every run's whole config (keys, ranges, shapes, memory) before any run starts:
// ConfigError naming the run and the override when one does not hold.
void check_sweep_configs(const SweepSpec& spec);

}  // namespace homeostat
