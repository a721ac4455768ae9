#include "studies/reproduce_sleep.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "config/simulation_reader.hpp"
#include "data/dataset.hpp"
#include "run/simulate_run.hpp"
#include "run/train_run.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

using Json = nlohmann::json;

struct Stat {
  double mean = 0.0;
  double sd = 0.0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (const double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    for (const double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::string text(const char* pattern, double a, double b = 0.0) {
  char out[96];
  std::snprintf(out, sizeof out, pattern, a, b);
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError("reproduce sleep: cannot read the base config '" + path.string() + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The study's plan: the sleep ratios, seeds and image counts, and the base configs.
struct SleepStudy {
  std::vector<double> ratios = {0.0, 0.05, 0.1, 0.2, 0.3};
  std::vector<std::uint64_t> seeds;
  std::size_t train_images = 0;
  std::size_t readout_images = 0;
  std::size_t test_images = 0;
  bool quick = false;
  std::filesystem::path directory;
  std::string stdp_base;
  std::string sg_base;
};

// One sleep ratio's results over the seeds.
struct SleepRow {
  std::vector<double> stdp, sg, sum_ratio, bounds;
  std::vector<double> trajectory;  // seed 1: weight sum / initial
};

// The STDP network (local-learning simulator) at one sleep ratio and seed.
void run_stdp_arm(const SleepStudy& study, double ratio, std::uint64_t seed, const Dataset& train,
                  const Dataset& test, SleepRow& row, Json& runs) {
  ConfigDocument doc = parse_config_string(study.stdp_base, "sleep_stdp.toml");
  const std::string name = text("stdp_sleep%.2f_seed%.0f", ratio, static_cast<double>(seed));
  for (const std::string& o : {"seed=" + std::to_string(seed), "name=\"" + name + "\"",
                               "output.directory=\"" + study.directory.string() + "\"",
                               "data.train_images=" + std::to_string(study.train_images),
                               "data.label_images=" + std::to_string(study.readout_images),
                               "data.test_images=" + std::to_string(study.test_images),
                               std::string("sleep.enabled=") + (ratio > 0 ? "true" : "false"),
                               "sleep.ratio=" + text("%g", ratio)})
    apply_override(doc, o);
  const SimulationConfig config = parse_simulation(doc);
  SimulationOptions sim_options;
  sim_options.progress = false;
  const auto t0 = std::chrono::steady_clock::now();
  const SimulationResult s = run_recurrent(config, train, test, sim_options);
  const double seconds = seconds_since(t0);
  const double sum_ratio = s.weight_sum_trajectory.back() / s.weight_sum_trajectory.front();
  row.stdp.push_back(s.test_accuracy);
  row.sum_ratio.push_back(sum_ratio);
  row.bounds.push_back(s.fraction_at_bounds);
  if (seed == study.seeds.front()) {
    for (const double w : s.weight_sum_trajectory)
      row.trajectory.push_back(w / s.weight_sum_trajectory.front());
  }
  std::printf("  %-28s test acc %6.2f%%  weight sum x%.2f  at bounds %.3f  (%.0f s)\n",
              name.c_str(), 100.0 * s.test_accuracy, sum_ratio, s.fraction_at_bounds, seconds);
  std::fflush(stdout);
  runs.push_back({{"paradigm", "stdp"},
                  {"ratio", ratio},
                  {"seed", seed},
                  {"test_accuracy", s.test_accuracy},
                  {"weight_sum_trajectory", s.weight_sum_trajectory},
                  {"fraction_at_bounds", s.fraction_at_bounds},
                  {"sleep_steps", s.sleep_steps},
                  {"seconds", seconds}});
}

// The surrogate-gradient recurrent network of similar size on the same images.
void run_sg_arm(const SleepStudy& study, double ratio, std::uint64_t seed, SleepRow& row,
                Json& runs) {
  std::string sg_text = study.sg_base;
  if (ratio > 0) {
    sg_text +=
        "\n[[homeostasis]]\nkind = \"sleep\"\nlayers = [\"hidden\"]\nratio = " + text("%g", ratio) +
        "\ninterval = 5\n";
  }
  ConfigDocument sg_doc = parse_config_string(sg_text, "w2.toml (sleep)");
  const std::string sg_name = text("sg_sleep%.2f_seed%.0f", ratio, static_cast<double>(seed));
  for (const std::string& o : std::vector<std::string>{
           "seed=" + std::to_string(seed), "name=\"" + sg_name + "\"",
           "output.directory=\"" + study.directory.string() + "\"",
           std::string("output.checkpoint_every=0"), "network.layers.0.units=200",
           "data.train_limit=" + std::to_string(study.train_images),
           "data.test_limit=" + std::to_string(study.test_images),
           std::string(study.quick ? "train.epochs=1" : "train.epochs=3")})
    apply_override(sg_doc, o);
  const ExperimentConfig sg_config = parse_experiment(sg_doc);
  TrainOptions train_options;
  train_options.progress = false;
  train_options.quiet = true;
  const auto t1 = std::chrono::steady_clock::now();
  const TrainResult g = homeostat::train(sg_config, train_options);
  const double sg_seconds = seconds_since(t1);
  row.sg.push_back(g.test_accuracy);
  std::printf("  %-28s test acc %6.2f%%  (%.0f s)\n", sg_name.c_str(), 100.0 * g.test_accuracy,
              sg_seconds);
  std::fflush(stdout);
  runs.push_back({{"paradigm", "sg"},
                  {"ratio", ratio},
                  {"seed", seed},
                  {"test_accuracy", g.test_accuracy},
                  {"seconds", sg_seconds}});
}

// The summary's table and weight-sum trajectories (markdown).
std::string sleep_table(const SleepStudy& study, const std::vector<SleepRow>& rows) {
  std::ostringstream md;
  md << "# reproduce sleep (seed 002)\n\nSTDP: experiments/sleep_stdp.toml (" << study.train_images
     << " training images, ridge readout on " << study.readout_images
     << " frozen responses); SG: experiments/w2.toml with 200 recurrent units, "
     << (study.quick ? 1 : 3) << " epoch(s) on the same " << study.train_images
     << " images; both tested on " << study.test_images << " test images, seeds 1.."
     << study.seeds.size()
     << ". Sleep ratio r: r x interval x steps-per-image (batch) sleep steps every interval.\n\n"
     << "| sleep ratio | STDP accuracy | STDP weight sum (final / initial) | STDP at bounds | "
        "SG accuracy |\n|---|---|---|---|---|\n";
  for (std::size_t r = 0; r < study.ratios.size(); ++r) {
    const Stat a = stat(rows[r].stdp), w = stat(rows[r].sum_ratio), b = stat(rows[r].bounds),
               g = stat(rows[r].sg);
    md << text("| %.2f ", study.ratios[r]) << text("| %.2f ± %.2f% ", 100 * a.mean, 100 * a.sd)
       << text("| %.2f ± %.2f ", w.mean, w.sd) << text("| %.3f ", b.mean)
       << text("| %.2f ± %.2f% |\n", 100 * g.mean, 100 * g.sd);
  }
  md << "\nWeight-sum trajectory (seed 1, sum|w| / initial at 0, 25, 50, 75, 100% of "
        "training):\n\n";
  for (std::size_t r = 0; r < study.ratios.size(); ++r) {
    const std::vector<double>& t = rows[r].trajectory;
    md << text("- r = %.2f:", study.ratios[r]);
    for (const double q : {0.0, 0.25, 0.5, 0.75, 1.0})
      md << text(" %.2f", t[static_cast<std::size_t>(q * static_cast<double>(t.size() - 1))]);
    md << "\n";
  }
  return md.str();
}

// The accuracy gained at 10-20% sleep over no sleep (the better of the two ratios).
double sleep_gain(const std::vector<SleepRow>& rows, bool sg) {
  const auto accuracy = [sg](const SleepRow& row) { return stat(sg ? row.sg : row.stdp).mean; };
  return std::max(accuracy(rows[2]), accuracy(rows[3])) - accuracy(rows[0]);
}

}  // namespace

int reproduce_sleep(const ReproduceOptions& options) {
  SleepStudy study;
  study.quick = options.quick;
  study.seeds =
      options.quick ? std::vector<std::uint64_t>{1, 2} : std::vector<std::uint64_t>{1, 2, 3};
  study.train_images = options.quick ? 300 : 2000;
  study.readout_images = options.quick ? 300 : 2000;
  study.test_images = options.quick ? 200 : 1000;
  study.directory = std::filesystem::path(options.output_directory) / "reproduce_sleep";
  std::filesystem::create_directories(study.directory);
  const std::filesystem::path experiments(options.experiments_directory);
  study.stdp_base = read_file(experiments / "sleep_stdp.toml");
  study.sg_base = read_file(experiments / "w2.toml");

  const SimulationConfig probe =
      parse_simulation(parse_config_string(study.stdp_base, "sleep_stdp.toml"));
  const Dataset train = load_idx_split(probe.data_directory, "train",
                                       std::max(study.train_images, study.readout_images));
  const Dataset test = load_idx_split(probe.data_directory, "test", study.test_images);
  std::printf(
      "reproduce sleep (seed 002): sleep ratio x {STDP, SG} x %zu seeds; %zu training "
      "images, %zu test images\n",
      study.seeds.size(), study.train_images, study.test_images);
  std::fflush(stdout);

  Json json = {{"study", "sleep"}, {"quick", options.quick}, {"runs", Json::array()}};
  std::vector<SleepRow> rows(study.ratios.size());
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t r = 0; r < study.ratios.size(); ++r) {
    for (const std::uint64_t seed : study.seeds) {
      run_stdp_arm(study, study.ratios[r], seed, train, test, rows[r], json["runs"]);
      run_sg_arm(study, study.ratios[r], seed, rows[r], json["runs"]);
    }
  }
  const double minutes = seconds_since(start) / 60.0;

  std::string md = sleep_table(study, rows);
  const double stdp_gain = sleep_gain(rows, false);
  const double sg_gain = sleep_gain(rows, true);
  const bool stdp_helps = stdp_gain > 0.01;
  const bool sg_flat = std::fabs(sg_gain) <= 0.01;
  const std::string verdict =
      text("verdict: 10-20%% sleep changes STDP accuracy by %+.1f pp and SG accuracy by %+.1f pp",
           100 * stdp_gain, 100 * sg_gain) +
      (stdp_helps && sg_flat ? " -- consistent with the paper (helps STDP, not SG)"
       : stdp_helps          ? " -- partly consistent (helps STDP; SG also moves)"
       : sg_flat             ? " -- not reproduced for STDP (SG unaffected as claimed)"
                             : " -- not reproduced") +
      text(" (%.1f min)", minutes);
  md += "\n" + verdict + "\n";
  json["verdict_line"] = verdict;
  json["verdict"] = stdp_helps && sg_flat   ? "confirmed"
                    : stdp_helps || sg_flat ? "mixed"
                                            : "not confirmed";
  write_file_atomically(study.directory / "summary.md", md);
  write_file_atomically(study.directory / "summary.json", json.dump(2) + '\n');
  std::printf("\n%s\nwritten: %s/summary.md, summary.json\n", md.c_str(), study.directory.c_str());
  return 0;
}

}  // namespace homeostat
