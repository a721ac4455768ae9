// W4 protocol options around the frozen label/test passes: frozen_presentation_ms sets the
// presentation length of the frozen passes only (training keeps presentation_ms);
// output.save_responses writes every training and label response next to the test responses.
// The split between simulation (plasticity/diehl_cook.hpp) and driver (run/simulate_run.hpp):
// the driver's results are the simulation's, its metrics.jsonl holds one batch record per 1000
// images (and at the end) and a result record; the running accuracy tests only after its
// warm-up.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/checkpoint.hpp"
#include "config/simulation_reader.hpp"
#include "plasticity/diehl_cook.hpp"
#include "plasticity/label_assignment.hpp"
#include "run/simulate_run.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

SimulationConfig parse_w4(const std::string& extra) {
  return parse_simulation(parse_config_string(R"(
[data]
train_images = 12
label_images = 8
test_images = 6
[excitatory]
count = 10
[inhibitory]
count = 10
[input]
normalize_total = 6.0
weight_high = 0.5
)" + extra,
                                              "test.toml"));
}

// 4x4 images of four classes (one bright row each).
Dataset rows(std::size_t n) {
  Dataset d;
  d.sample_shape = {4, 4};
  d.num_classes = 4;
  for (std::size_t s = 0; s < n; ++s) {
    d.labels.push_back(static_cast<std::int32_t>(s % 4));
    for (std::size_t k = 0; k < 16; ++k) d.samples.push_back(k / 4 == s % 4 ? 1.0f : 0.1f);
  }
  return d;
}

TEST(DiehlCookProtocol, FrozenPresentationLengthAppliesToFrozenPassesOnly) {
  const SimulationConfig config = parse_w4(R"(
[simulation]
presentation_ms = 20.0
rest_ms = 10.0
fast_rest = false
min_spikes = 0
max_retries = 2
frozen_presentation_ms = 50.0
)");
  EXPECT_DOUBLE_EQ(config.frozen_presentation_ms, 50.0);
  DiehlCookNetwork net(config, 16);
  // The stride of a frozen image covers the longer of the two presentations.
  EXPECT_EQ(net.steps_per_image(), 3u * (100u + 20u));
  const std::vector<float> pixels(16, 1.0f);
  std::vector<std::uint32_t> counts(10);
  net.set_learning(true);
  std::uint64_t before = net.simulator().current_step();
  EXPECT_EQ(net.present(pixels, counts), 1u);  // min_spikes 0: no retry
  EXPECT_EQ(net.simulator().current_step() - before, 40u + 20u);
  net.set_learning(false);
  before = net.simulator().current_step();
  net.present(pixels, counts);
  EXPECT_EQ(net.simulator().current_step() - before, 100u + 20u);
  // Default (0): the frozen passes use presentation_ms.
  const SimulationConfig plain = parse_w4("[simulation]\npresentation_ms = 20.0\n");
  EXPECT_DOUBLE_EQ(plain.frozen_presentation_ms, 0.0);
  DiehlCookNetwork same(plain, 16);
  EXPECT_EQ(same.steps_per_image(), 9u * (40u + 300u));
}

TEST(DiehlCookProtocol, FrozenPresentationLengthRejectsNegative) {
  EXPECT_THROW(parse_w4("[simulation]\nfrozen_presentation_ms = -1.0\n"), ConfigError);
}

// Neuron 0 fires 4 of a bright class-0 image's 40 spikes and 2 of a faint class-1 image's 4:
// by counts it is a class-0 neuron, by shares (10% vs 50%) a class-1 neuron.
TEST(DiehlCookProtocol, FractionLabelsWeighEveryImageTheSame) {
  const std::vector<std::uint32_t> bright = {4, 36, 0};
  const std::vector<std::uint32_t> faint = {2, 0, 2};
  LabelAssignment counts(2, 3);
  counts.observe(bright, 0);
  counts.observe(faint, 1);
  counts.assign();
  EXPECT_EQ(counts.neuron_class(), (std::vector<std::size_t>{0, 0, 1}));
  LabelAssignment fractions(2, 3);
  fractions.observe_fraction(bright, 0);
  fractions.observe_fraction(faint, 1);
  fractions.observe_fraction(std::vector<std::uint32_t>{0, 0, 0}, 1);  // seen, no response
  fractions.assign();
  EXPECT_EQ(fractions.neuron_class(), (std::vector<std::size_t>{1, 0, 1}));
  EXPECT_EQ(fractions.neurons_per_class(), (std::vector<std::size_t>{1, 2}));
  // The config key.
  EXPECT_FALSE(parse_w4("").label_fraction);
  EXPECT_TRUE(parse_w4("[simulation]\nlabel_response = \"fraction\"\n").label_fraction);
  EXPECT_THROW(parse_w4("[simulation]\nlabel_response = \"share\"\n"), ConfigError);
}

std::vector<std::uint32_t> read_u32(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint32_t> v;
  std::uint32_t x = 0;
  while (in.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

TEST(DiehlCookProtocol, SaveResponsesWritesTrainAndLabelResponses) {
  const testing::TempDir dir;
  SimulationConfig config = parse_w4(
      "[simulation]\npresentation_ms = 30.0\nrest_ms = 10.0\n[output]\nsave_responses = true\n");
  config.output_directory = dir.path();
  config.name = "w4";
  const Dataset train = rows(12);
  const Dataset test = rows(6);
  SimulationOptions options;
  options.progress = false;
  const SimulationResult result = run_diehl_cook(config, train, test, options);
  const auto check = [&](const std::string& file, std::size_t images) {
    const std::vector<std::uint32_t> v = read_u32(result.run_directory / file);
    ASSERT_EQ(v.size(), images * 11) << file;  // 10 counts + the label per image
    std::uint64_t spikes = 0;
    for (std::size_t k = 0; k < images; ++k) {
      EXPECT_EQ(v[k * 11 + 10], k % 4) << file << " image " << k;
      for (std::size_t j = 0; j < 10; ++j) spikes += v[k * 11 + j];
    }
    EXPECT_GT(spikes, 0u) << file;
  };
  check("train_responses.bin", 12);
  check("label_responses.bin", 8);
  check("test_responses.bin", 6);
  // Off (the default): only the test responses.
  config.save_responses = false;
  config.name = "w4_off";
  const SimulationResult off = run_diehl_cook(config, train, test, options);
  EXPECT_FALSE(std::filesystem::exists(off.run_directory / "train_responses.bin"));
  EXPECT_FALSE(std::filesystem::exists(off.run_directory / "label_responses.bin"));
  EXPECT_TRUE(std::filesystem::exists(off.run_directory / "test_responses.bin"));
}

// frozen_sequential: the label and test passes go on image after image from where training
// stopped, as a hand-written loop on one network does; the default passes (each image from the
// trained state) give other responses.
TEST(DiehlCookProtocol, SequentialFrozenPassesContinueFromThePreviousImage) {
  const testing::TempDir dir;
  SimulationConfig config = parse_w4(
      "[simulation]\npresentation_ms = 30.0\nrest_ms = 10.0\nfrozen_sequential = true\n"
      "[output]\nsave_responses = true\n");
  config.output_directory = dir.path();
  config.name = "sequential";
  const Dataset train = rows(12);
  const Dataset test = rows(6);
  SimulationOptions options;
  options.progress = false;
  const SimulationResult run = run_diehl_cook(config, train, test, options);
  DiehlCookNetwork net(config, 16);
  std::vector<std::uint32_t> counts(10);
  net.set_learning(true);
  for (std::size_t k = 0; k < 12; ++k)
    net.present(std::span<const float>(train.samples.data() + k * 16, 16), counts);
  net.set_learning(false);
  net.simulator().projection(net.input_projection()).normalize();
  std::vector<std::uint32_t> expected;
  for (std::size_t k = 0; k < 8; ++k) {
    net.present(std::span<const float>(train.samples.data() + k * 16, 16), counts);
    expected.insert(expected.end(), counts.begin(), counts.end());
    expected.push_back(static_cast<std::uint32_t>(train.labels[k]));
  }
  EXPECT_EQ(read_u32(run.run_directory / "label_responses.bin"), expected);
  config.frozen_sequential = false;
  config.name = "independent";
  const SimulationResult independent = run_diehl_cook(config, train, test, options);
  EXPECT_EQ(independent.final_weights, run.final_weights);  // same training
  EXPECT_NE(read_u32(independent.run_directory / "label_responses.bin"), expected);
}

// output.save_state writes the trained input weights and thetas (network.ckpt); a later run
// starts from them with simulation.initial_state, and with data.train_images = 0 only evaluates.
TEST(DiehlCookProtocol, SavedStateRestoresTheTrainedNetwork) {
  const testing::TempDir dir;
  SimulationConfig config =
      parse_w4("[simulation]\npresentation_ms = 30.0\nrest_ms = 10.0\nfrozen_sequential = true\n");
  config.output_directory = dir.path();
  config.name = "trained";
  const Dataset train = rows(12);
  const Dataset test = rows(6);
  SimulationOptions options;
  options.progress = false;
  const SimulationResult run = run_diehl_cook(config, train, test, options);
  const std::filesystem::path state = run.run_directory / "network.ckpt";
  ASSERT_TRUE(std::filesystem::exists(state));

  DiehlCookNetwork trained(config, 16);  // the same training by hand
  std::vector<std::uint32_t> counts(10);
  trained.set_learning(true);
  for (std::size_t k = 0; k < 12; ++k)
    trained.present(std::span<const float>(train.samples.data() + k * 16, 16), counts);
  DiehlCookNetwork restored(config, 16);
  restored.load_state(state);
  Simulator& a = trained.simulator();
  Simulator& b = restored.simulator();
  EXPECT_EQ(b.projection(restored.input_projection()).weights,
            a.projection(trained.input_projection()).weights);
  EXPECT_EQ(b.population(restored.excitatory()).theta, a.population(trained.excitatory()).theta);
  double theta_sum = 0.0;
  for (const double t : b.population(restored.excitatory()).theta) theta_sum += t;
  EXPECT_GT(theta_sum, 0.0);  // training moved the thresholds: the file holds real state

  // Evaluation only: the frozen passes run on the saved weights (normalized as after training).
  SimulationConfig evaluate = config;
  evaluate.train_images = 0;
  evaluate.initial_state = state;
  evaluate.name = "evaluated";
  const SimulationResult again = run_diehl_cook(evaluate, train, test, options);
  EXPECT_EQ(again.train_images, 0u);
  EXPECT_EQ(again.final_weights, run.final_weights);

  // Another network shape, a corrupt file, a missing file: DataError naming the file.
  SimulationConfig other = config;
  other.excitatory_count = other.inhibitory_count = 12;
  DiehlCookNetwork wrong(other, 16);
  EXPECT_THROW(wrong.load_state(state), DataError);
  // A sound file (valid CRC) whose identifying fields have other types: a DataError, not a JSON
  // type_error.
  for (const nlohmann::json& header :
       {nlohmann::json{{"kind", 7}, {"inputs", "16"}, {"excitatory", nullptr}},
        nlohmann::json{{"kind", "diehl_cook"}, {"inputs", -1}, {"excitatory", 1.5}}}) {
    const auto odd = dir.path() / "odd.ckpt";
    std::vector<double> none;
    write_checkpoint<double>(odd, header, {{"input_weights", std::span<double>(none)}});
    EXPECT_THROW(restored.load_state(odd), DataError) << header.dump();
  }
  {
    std::fstream file(state, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('\x7f');
  }
  EXPECT_THROW(restored.load_state(state), DataError);
  EXPECT_THROW(restored.load_state(dir.path() / "missing.ckpt"), DataError);
}

TEST(DiehlCookProtocol, NoTrainingImagesNeedsAnInitialState) {
  const auto parse = [](const std::string& text) {
    return parse_simulation(parse_config_string(text, "test.toml"));
  };
  EXPECT_THROW(parse("[data]\ntrain_images = 0\n"), ConfigError);
  const SimulationConfig c =
      parse("[simulation]\ninitial_state = \"net.ckpt\"\n[data]\ntrain_images = 0\n");
  EXPECT_EQ(c.train_images, 0u);
  EXPECT_EQ(c.initial_state, std::filesystem::path("net.ckpt"));
  EXPECT_TRUE(c.save_state);
}

TEST(DiehlCookProtocol, RunningAccuracyTestsOnlyAfterItsWarmUp) {
  RunningAccuracy running(2, 2);
  const std::vector<std::uint32_t> class0 = {5, 0};
  const std::vector<std::uint32_t> class1 = {0, 5};
  for (std::size_t k = 0; k < RunningAccuracy::kWarmup; ++k) {
    EXPECT_FALSE(running.next(k % 2 ? class1 : class0, k % 2).has_value()) << k;
  }
  EXPECT_EQ(running.accuracy(), 0.0);  // nothing tested yet
  // Labels were assigned every 250 images: neuron 0 is class 0, neuron 1 class 1.
  EXPECT_EQ(running.next(class0, 0), std::optional<bool>(true));
  EXPECT_EQ(running.next(class1, 1), std::optional<bool>(true));
  EXPECT_EQ(running.next(class1, 0), std::optional<bool>(false));  // predicted 1, labelled 0
  EXPECT_DOUBLE_EQ(running.accuracy(), 2.0 / 3.0);
}

// The driver only watches: its results are those of the simulation's own steps.
TEST(DiehlCookProtocol, DriverResultsAreTheSimulations) {
  const SimulationConfig config =
      parse_w4("[simulation]\npresentation_ms = 30.0\nrest_ms = 10.0\n");
  const Dataset train = rows(12);
  const Dataset test = rows(6);
  SimulationOptions options;
  options.progress = false;
  options.write_run = false;
  const SimulationResult run = run_diehl_cook(config, train, test, options);

  DiehlCookNetwork net(config, 16);
  std::vector<std::size_t> done;
  const DiehlCookTraining training =
      train_diehl_cook(net, config, train, [&](const DiehlCookImage& image) {
        done.push_back(image.done);
        EXPECT_EQ(image.counts.size(), 10u);
        EXPECT_EQ(image.label, (image.done - 1) % 4);  // file order
      });
  EXPECT_EQ(done, (std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  std::size_t label_responses = 0;
  std::vector<std::size_t> test_labels;
  const DiehlCookEvaluation evaluation = evaluate_diehl_cook(
      net, config, train, test,
      [&](std::span<const std::uint32_t>, std::size_t) { ++label_responses; },
      [&](std::span<const std::uint32_t>, std::size_t label) { test_labels.push_back(label); });
  EXPECT_EQ(label_responses, 8u);
  EXPECT_EQ(test_labels, (std::vector<std::size_t>{0, 1, 2, 3, 0, 1}));
  EXPECT_EQ(training.images, run.train_images);
  EXPECT_EQ(training.presentations, run.presentations);
  EXPECT_EQ(net.simulator().projection(net.input_projection()).weights, run.final_weights);
  EXPECT_EQ(evaluation.test_predictions, run.test_predictions);
  EXPECT_EQ(evaluation.test_accuracy, run.test_accuracy);
  EXPECT_EQ(evaluation.neurons_per_class, run.neurons_per_class);
}

TEST(DiehlCookProtocol, MetricsHoldBatchRecordsAndTheResult) {
  const testing::TempDir dir;
  SimulationConfig config = parse_w4("[simulation]\npresentation_ms = 30.0\nrest_ms = 10.0\n");
  config.output_directory = dir.path();
  config.name = "records";
  SimulationOptions options;
  options.progress = false;
  const SimulationResult result = run_diehl_cook(config, rows(12), rows(6), options);
  std::ifstream in(result.run_directory / "metrics.jsonl");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 2u);  // 12 images: one batch record at the end, then the result
  EXPECT_EQ(records[0]["kind"], "batch");
  EXPECT_EQ(records[0]["images"], 12);
  EXPECT_EQ(records[0]["retries"], result.presentations - 12);
  EXPECT_EQ(records[1]["kind"], "result");
  EXPECT_EQ(records[1]["train_presentations"], result.presentations);
  EXPECT_EQ(records[1]["test_accuracy"], result.test_accuracy);
  EXPECT_EQ(records[1]["label_images"], 8);
  std::ifstream config_file(result.run_directory / "config.toml");
  EXPECT_TRUE(config_file.good());
}

}  // namespace
}  // namespace homeostat
