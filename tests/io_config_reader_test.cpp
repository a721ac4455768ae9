// Tests for config reading: typed getters, exact error messages with key paths and line numbers,
// unknown-key detection, --set overrides, file errors and TOML round trips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "config/simulation_reader.hpp"

namespace homeostat {
namespace {

// Line numbers below are relied on by the tests; keep the layout stable.
constexpr std::string_view kConfig = R"(seed = 7
name = "run"

[train]
epochs = 10
lr = 0.001
optimizer = "adam"
verbose = true
sizes = [1, 2, 3]
rates = [0.5, 1]
tags = ["a", "b"]

[[network.layers]]
units = 128
kind = "lif"

[[network.layers]]
units = 0
kind = "alif"
)";

ConfigDocument sample() { return parse_config_string(kConfig, "w1.toml"); }

// Runs `action` and returns the ConfigError message; fails the test if nothing was thrown.
template <typename Action>
std::string config_error_of(Action&& action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

// A file in the temp directory, removed when the test ends.
class TempFile {
 public:
  TempFile(std::string_view name, std::string_view contents)
      : path_(std::filesystem::temp_directory_path() /
              ("homeostat_" + std::to_string(::getpid()) + "_" + std::string(name))) {
    std::ofstream(path_) << contents;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ConfigReader, NumberAcceptsFloatsAndIntegers) {
  const ConfigDocument doc = sample();
  const ConfigSection train(doc, *doc.root["train"].as_table(), "train");
  EXPECT_DOUBLE_EQ(train.number("lr", 1.0), 0.001);
  EXPECT_DOUBLE_EQ(train.number("epochs", 1.0), 10.0);
  EXPECT_DOUBLE_EQ(train.required_number("lr", 0.0, 1.0), 0.001);
  EXPECT_DOUBLE_EQ(train.number("missing", 2.5), 2.5);
}

TEST(ConfigReader, IntegerHappyPathAndFallback) {
  const ConfigDocument doc = parse_config_string("a = 2\nb = 1e3\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(root.integer("a", 0), 2);
  EXPECT_EQ(root.required_integer("a", 1, 5), 2);
  EXPECT_EQ(root.integer("b", 0), 1000);  // exactly integral floats are accepted
  EXPECT_EQ(root.integer("missing", 42), 42);
}

TEST(ConfigReader, IntegerRejectsFraction) {
  const ConfigDocument doc = parse_config_string("\nbatch = 2.5\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(config_error_of([&] { (void)root.integer("batch", 1); }),
            "config error: t.toml line 2: key 'batch': expected an integer, got 2.5");
}

TEST(ConfigReader, BooleanStringAndChoiceHappyPath) {
  const ConfigDocument doc = sample();
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection train = root.table("train");
  EXPECT_TRUE(train.boolean("verbose", false));
  EXPECT_FALSE(train.boolean("missing", false));
  EXPECT_EQ(root.string("name", "x"), "run");
  EXPECT_EQ(root.string("missing", "x"), "x");
  EXPECT_EQ(root.required_string("name"), "run");
  EXPECT_EQ(train.choice("optimizer", "sgd", {"sgd", "adam"}), "adam");
  EXPECT_EQ(train.choice("schedule", "constant", {"constant", "cosine"}), "constant");
}

TEST(ConfigReader, ListsHappyPathAndFallback) {
  const ConfigDocument doc = sample();
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(train.integer_list("sizes", {}, 1, 10), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(train.number_list("rates", {}), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(train.string_list("tags", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(train.integer_list("missing", {4}, 0, 9), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(train.number_list("missing", {0.25}), (std::vector<double>{0.25}));
  EXPECT_EQ(train.string_list("missing", {"z"}), (std::vector<std::string>{"z"}));
}

TEST(ConfigReader, MissingTableYieldsDefaults) {
  const ConfigDocument doc = sample();
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection eval = root.table("eval");
  EXPECT_EQ(eval.path(), "eval");
  EXPECT_FALSE(eval.has("batch"));
  EXPECT_EQ(eval.integer("batch", 64), 64);
  EXPECT_NO_THROW(eval.reject_unknown_keys());
  EXPECT_TRUE(root.array_of_tables("missing").empty());
}

TEST(ConfigReader, WrongTypeNamesKeyPathAndLine) {
  const ConfigDocument doc = sample();
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection train = root.table("train");
  EXPECT_EQ(config_error_of([&] { (void)train.number("optimizer", 0.1); }),
            "config error: w1.toml line 7: key 'train.optimizer': expected a number, got a string");
  EXPECT_EQ(config_error_of([&] { (void)train.string("epochs", ""); }),
            "config error: w1.toml line 5: key 'train.epochs': expected a string, got an integer");
  EXPECT_EQ(config_error_of([&] { (void)train.boolean("lr", false); }),
            "config error: w1.toml line 6: key 'train.lr': expected a boolean, got a number");
  EXPECT_EQ(
      config_error_of([&] { (void)train.integer("verbose", 0); }),
      "config error: w1.toml line 8: key 'train.verbose': expected an integer, got a boolean");
  EXPECT_EQ(
      config_error_of([&] { (void)train.integer_list("tags", {}, 0, 9); }),
      "config error: w1.toml line 11: key 'train.tags[0]': expected an integer, got a string");
  EXPECT_EQ(config_error_of([&] { (void)train.number_list("lr", {}); }),
            "config error: w1.toml line 6: key 'train.lr': expected an array, got a number");
  EXPECT_EQ(config_error_of([&] { (void)root.table("seed"); }),
            "config error: w1.toml line 1: key 'seed': expected a table, got an integer");
  EXPECT_EQ(config_error_of([&] { (void)root.array_of_tables("train"); }),
            "config error: w1.toml line 4: key 'train': expected an array, got a table");
}

TEST(ConfigReader, OutOfRangeNamesBounds) {
  const ConfigDocument doc = sample();
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(config_error_of([&] { (void)train.integer("epochs", 1, 1, 5); }),
            "config error: w1.toml line 5: key 'train.epochs': 10 is out of range (must be between "
            "1 and 5)");
  EXPECT_EQ(config_error_of([&] { (void)train.number("lr", 0.1, 0.01); }),
            "config error: w1.toml line 6: key 'train.lr': 0.001 is out of range (must be >= "
            "0.01)");
  EXPECT_EQ(config_error_of([&] { (void)train.required_number("lr", ConfigSection::kNoMin, 0.0); }),
            "config error: w1.toml line 6: key 'train.lr': 0.001 is out of range (must be <= 0)");
  EXPECT_EQ(
      config_error_of([&] { (void)train.integer_list("sizes", {}, 1, 2); }),
      "config error: w1.toml line 9: key 'train.sizes[2]': 3 is out of range (must be between "
      "1 and 2)");
}

TEST(ConfigReader, NanIsRejected) {
  const ConfigDocument doc = parse_config_string("x = nan\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(config_error_of([&] { (void)root.number("x", 0.0); }),
            "config error: t.toml line 1: key 'x': nan is not allowed");
}

TEST(ConfigReader, ElementsOfMultiLineArraysHaveTheirOwnLines) {
  const ConfigDocument doc = parse_config_string("sizes = [\n  1,\n  -2,\n]\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(
      config_error_of([&] { (void)root.integer_list("sizes", {}, 0, 9); }),
      "config error: t.toml line 3: key 'sizes[1]': -2 is out of range (must be between 0 and "
      "9)");
}

TEST(ConfigReader, UnknownKeyNamesPathLineAndValidKeys) {
  const ConfigDocument doc =
      parse_config_string("[train]\nepochs = 3\n\nlrr = 0.1\nlr = 0.2\n", "w1.toml");
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  (void)train.integer("epochs", 1);
  (void)train.number("lr", 0.1);
  (void)train.number("momentum", 0.9);  // read but absent: still a valid key
  EXPECT_EQ(config_error_of([&] { train.reject_unknown_keys(); }),
            "config error: w1.toml line 4: unknown key 'train.lrr' (valid keys: epochs, lr, "
            "momentum)");
}

TEST(ConfigReader, UnknownKeyReportsTheEarliestLine) {
  // The table iterates keys alphabetically ("aa" first); the report follows the file instead.
  const ConfigDocument doc = parse_config_string("zz = 1\naa = 2\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(config_error_of([&] { root.reject_unknown_keys(); }),
            "config error: t.toml line 1: unknown key 'zz' (valid keys: none)");
}

TEST(ConfigReader, ReadKeysAreSharedByCopiesAndSubSectionsCheckThemselves) {
  const ConfigDocument doc = sample();
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection copy = root;
  (void)copy.integer("seed", 0);
  (void)copy.string("name", "");
  const ConfigSection train = root.table("train");  // train's own keys are train's business
  (void)root.table("network");
  EXPECT_NO_THROW(root.reject_unknown_keys());
  EXPECT_FALSE(train.has("missing"));
  EXPECT_TRUE(train.has("lr"));
  // has() does not count as reading.
  EXPECT_NE(config_error_of([&] { train.reject_unknown_keys(); }).find("unknown key 'train."),
            std::string::npos);
}

TEST(ConfigReader, MissingRequiredKey) {
  const ConfigDocument doc = sample();
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection train = root.table("train");
  EXPECT_EQ(config_error_of([&] { (void)train.required_number("steps"); }),
            "config error: w1.toml: missing required key 'train.steps' (in table starting at line "
            "4)");
  EXPECT_EQ(config_error_of([&] { (void)train.required_integer("steps"); }),
            "config error: w1.toml: missing required key 'train.steps' (in table starting at line "
            "4)");
  EXPECT_EQ(config_error_of([&] { (void)root.required_string("model"); }),
            "config error: w1.toml: missing required key 'model'");
  const ConfigSection eval = root.table("eval");  // absent table: no position to show
  EXPECT_EQ(config_error_of([&] { (void)eval.required_integer("batch"); }),
            "config error: w1.toml: missing required key 'eval.batch'");
}

TEST(ConfigReader, ChoiceErrorListsChoices) {
  const ConfigDocument doc = sample();
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(config_error_of([&] {
              (void)train.choice("optimizer", "sgd", {"sgd", "adamw"});
            }),
            "config error: w1.toml line 7: key 'train.optimizer': 'adam' is not a valid choice "
            "(must be one of: sgd, adamw)");
  EXPECT_EQ(config_error_of([&] { (void)train.choice("epochs", "sgd", {"sgd"}); }),
            "config error: w1.toml line 5: key 'train.epochs': expected a string, got an integer");
}

TEST(ConfigReader, ArrayOfTablesPathsAndLines) {
  const ConfigDocument doc = sample();
  const ConfigSection network = ConfigSection(doc, doc.root, "").table("network");
  const std::vector<ConfigSection> layers = network.array_of_tables("layers");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].path(), "network.layers[0]");
  EXPECT_EQ(layers[1].path(), "network.layers[1]");
  EXPECT_EQ(layers[0].integer("units", 1, 1), 128);
  EXPECT_EQ(config_error_of([&] { (void)layers[1].integer("units", 1, 1); }),
            "config error: w1.toml line 18: key 'network.layers[1].units': 0 is out of range (must "
            "be >= 1)");
  EXPECT_EQ(config_error_of([&] { (void)layers[1].required_number("tau"); }),
            "config error: w1.toml: missing required key 'network.layers[1].tau' (in table "
            "starting at line 17)");
  (void)layers[1].integer("units", 1);
  EXPECT_EQ(config_error_of([&] { layers[1].reject_unknown_keys(); }),
            "config error: w1.toml line 19: unknown key 'network.layers[1].kind' (valid keys: tau, "
            "units)");
}

TEST(ConfigReader, ArrayOfTablesRejectsNonTableElements) {
  const ConfigDocument doc = parse_config_string("layers = [{units = 1}, 5]\n", "t.toml");
  const ConfigSection root(doc, doc.root, "");
  EXPECT_EQ(config_error_of([&] { (void)root.array_of_tables("layers"); }),
            "config error: t.toml line 1: key 'layers[1]': expected a table, got an integer");
}

TEST(ConfigReader, ErrorHelperForCrossFieldChecks) {
  const ConfigDocument doc = sample();
  const auto layers = ConfigSection(doc, doc.root, "").table("network").array_of_tables("layers");
  const ConfigError on_key = layers[1].error("units", "does not match the input size 784");
  EXPECT_STREQ(on_key.what(),
               "config error: w1.toml line 18: key 'network.layers[1].units': does not match the "
               "input size 784");
  const ConfigError on_table = layers[0].error("", "layer kinds must alternate");
  EXPECT_STREQ(
      on_table.what(),
      "config error: w1.toml line 13: key 'network.layers[0]': layer kinds must alternate");
}

TEST(ConfigReader, OverrideNumberBooleanAndStrings) {
  ConfigDocument doc = sample();
  apply_override(doc, "train.lr=1e-2");
  apply_override(doc, "train.verbose = false");
  apply_override(doc, "train.optimizer=sgd");  // bare word: taken as a string
  apply_override(doc, "name=\"quoted run\"");
  apply_override(doc, "train.sizes=[4, 5]");
  const ConfigSection root(doc, doc.root, "");
  const ConfigSection train = root.table("train");
  EXPECT_DOUBLE_EQ(train.number("lr", 0.0), 0.01);
  EXPECT_FALSE(train.boolean("verbose", true));
  EXPECT_EQ(train.string("optimizer", ""), "sgd");
  EXPECT_EQ(root.string("name", ""), "quoted run");
  EXPECT_EQ(train.integer_list("sizes", {}, 0, 9), (std::vector<std::int64_t>{4, 5}));
}

TEST(ConfigReader, OverrideArrayElementPath) {
  ConfigDocument doc = sample();
  apply_override(doc, "network.layers.1.units=512");
  const auto layers = ConfigSection(doc, doc.root, "").table("network").array_of_tables("layers");
  EXPECT_EQ(layers[1].integer("units", 0), 512);
  EXPECT_EQ(layers[0].integer("units", 0), 128);
  // The replaced element is an override now; its sibling keeps its file line.
  EXPECT_EQ(config_error_of([&] { (void)layers[1].integer("units", 0, 1000); }),
            "config error: w1.toml: key 'network.layers[1].units' (from --set "
            "network.layers.1.units=512): 512 is out of range (must be >= 1000)");
  EXPECT_EQ(config_error_of([&] { (void)layers[1].number("kind", 0); }),
            "config error: w1.toml line 19: key 'network.layers[1].kind': expected a number, got a "
            "string");
}

TEST(ConfigReader, OverrideReplacesArrayElement) {
  ConfigDocument doc = sample();
  apply_override(doc, "train.sizes.2=30");
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(train.integer_list("sizes", {}, 0, 99), (std::vector<std::int64_t>{1, 2, 30}));
}

TEST(ConfigReader, OverrideCreatesNestedKeys) {
  ConfigDocument doc = sample();
  apply_override(doc, "eval.metrics.top_k=5");
  const ConfigSection eval = ConfigSection(doc, doc.root, "").table("eval");
  EXPECT_EQ(eval.table("metrics").integer("top_k", 1), 5);
  EXPECT_EQ(config_error_of([&] { (void)eval.table("metrics").required_integer("k"); }),
            "config error: w1.toml: missing required key 'eval.metrics.k'");
}

TEST(ConfigReader, OverrideErrors) {
  ConfigDocument doc = sample();
  EXPECT_EQ(config_error_of([&] { apply_override(doc, "network.layers.2.units=5"); }),
            "config error: w1.toml: --set network.layers.2.units=5: index 2 is past the end of "
            "'network.layers' (it has 2 elements)");
  EXPECT_EQ(config_error_of([&] { apply_override(doc, "train.lr"); }),
            "config error: w1.toml: --set train.lr: expected KEY=VALUE, but there is no '='");
  EXPECT_EQ(config_error_of([&] { apply_override(doc, "train.lr.x=1"); }),
            "config error: w1.toml: --set train.lr.x=1: 'train.lr' is a number, not a table, so it "
            "has no key 'x'");
  EXPECT_EQ(config_error_of([&] { apply_override(doc, "network.layers.first.units=1"); }),
            "config error: w1.toml: --set network.layers.first.units=1: 'network.layers' is an "
            "array, so the next key part must be an index, not 'first'");
  EXPECT_NE(config_error_of([&] { apply_override(doc, "train..lr=1"); }).find("empty part"),
            std::string::npos);
  EXPECT_NE(config_error_of([&] { apply_override(doc, "train.lr="); }).find("missing value"),
            std::string::npos);
  EXPECT_NE(config_error_of([&] {
              apply_override(doc, "train.sizes=[1,");
            }).find("--set train.sizes=[1,: invalid TOML value"),
            std::string::npos);
  // Failed overrides leave the document untouched.
  EXPECT_DOUBLE_EQ(ConfigSection(doc, doc.root, "").table("train").number("lr", 0), 0.001);
}

TEST(ConfigReader, OverriddenWrongTypeMentionsSet) {
  ConfigDocument doc = sample();
  apply_override(doc, "train.lr=fast");
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(config_error_of([&] { (void)train.number("lr", 0.1); }),
            "config error: w1.toml: key 'train.lr' (from --set train.lr=fast): expected a number, "
            "got a string");
}

TEST(ConfigReader, OverriddenUnknownKeyMentionsSet) {
  ConfigDocument doc = sample();
  apply_override(doc, "train.lrr=0.1");
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  (void)train.integer("epochs", 0);
  (void)train.number("lr", 0);
  (void)train.string("optimizer", "");
  (void)train.boolean("verbose", false);
  (void)train.integer_list("sizes", {}, 0, 9);
  (void)train.number_list("rates", {});
  (void)train.string_list("tags", {});
  EXPECT_EQ(config_error_of([&] { train.reject_unknown_keys(); }),
            "config error: w1.toml: unknown key 'train.lrr' (from --set train.lrr=0.1) (valid "
            "keys: epochs, lr, optimizer, rates, sizes, tags, verbose)");
}

TEST(ConfigReader, InlineTableOverrideCoversItsKeysAndSupersedesOlderOnes) {
  ConfigDocument doc = sample();
  apply_override(doc, "train.lr=0.5");
  apply_override(doc, "train={lr=\"x\", epochs=2}");
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(train.integer("epochs", 0), 2);
  EXPECT_EQ(config_error_of([&] { (void)train.number("lr", 0); }),
            "config error: w1.toml: key 'train.lr' (from --set train={lr=\"x\", epochs=2}): "
            "expected a number, got a string");
  EXPECT_EQ(config_error_of([&] { (void)train.required_integer("steps"); }),
            "config error: w1.toml: missing required key 'train.steps' (in table from --set "
            "train={lr=\"x\", epochs=2})");
}

TEST(ConfigReader, SyntaxErrorInFileGivesLineAndColumn) {
  const TempFile file("syntax.toml", "a = 1\nb = = 2\n");
  const std::string message = config_error_of([&] { (void)load_config_file(file.path()); });
  EXPECT_EQ(message.rfind("config error: " + file.path().string() + " line 2, column ", 0), 0u)
      << message;
}

TEST(ConfigReader, SyntaxErrorInStringGivesLine) {
  const std::string message =
      config_error_of([] { (void)parse_config_string("[a]\nx = 1\nx = 2\n", "dup.toml"); });
  EXPECT_EQ(message.rfind("config error: dup.toml line 3, column ", 0), 0u) << message;
}

TEST(ConfigReader, LoadsFileWithLinePositions) {
  const TempFile file("good.toml", "\n\n[train]\nlr = \"slow\"\n");
  const ConfigDocument doc = load_config_file(file.path());
  EXPECT_EQ(doc.source_name, file.path().string());
  const ConfigSection train = ConfigSection(doc, doc.root, "").table("train");
  EXPECT_EQ(config_error_of([&] { (void)train.number("lr", 0); }),
            "config error: " + file.path().string() +
                " line 4: key 'train.lr': expected a number, got a string");
}

TEST(ConfigReader, MissingFileAndDirectoryErrors) {
  const std::filesystem::path missing =
      std::filesystem::temp_directory_path() / "homeostat_definitely_missing.toml";
  EXPECT_EQ(config_error_of([&] { (void)load_config_file(missing); }),
            "config error: " + missing.string() + ": config file not found");
  const std::filesystem::path directory = std::filesystem::temp_directory_path();
  EXPECT_EQ(config_error_of([&] { (void)load_config_file(directory); }),
            "config error: " + directory.string() + ": is a directory, not a config file");
}

TEST(ConfigReader, ToTomlStringRoundTrips) {
  ConfigDocument doc = parse_config_string(
      std::string(kConfig) + "[misc]\ntext = \"quote \\\" and \\\\ and \\n newline\"\n" +
          "small = 1e-300\ntenth = 0.1\nbig = 9007199254740993\nneg = -0.0\nnested = [[1, 2], "
          "[\"a\"]]\ninline = {x = 1, y = {z = true}}\nwhen = 2024-01-02T03:04:05Z\n",
      "w1.toml");
  apply_override(doc, "train.lr=3e-4");
  const std::string text = to_toml_string(doc.root);
  const ConfigDocument reparsed = parse_config_string(text, "roundtrip.toml");
  EXPECT_EQ(reparsed.root, doc.root) << text;
  EXPECT_NE(reparsed.root, sample().root);  // the comparison is not vacuous
}

// The run name becomes a directory under output.directory: train and simulate accept only a
// plain file name, so no run writes outside it or to a path a NUL byte cut short.
TEST(ConfigReader, RunNamesArePlainFileNamesForEveryCommand) {
  const std::string bad[] = {R"("")",
                             R"(".")",
                             R"("..")",
                             R"("../x")",
                             R"("/abs/path")",
                             R"("a/b")",
                             R"("bad\u0000nul")",
                             R"("tab\there")",
                             "\"" + std::string(129, 'n') + "\""};
  const std::string experiment_rest =
      "\n[[network.layers]]\nkind = \"dense\"\nunits = 10\n[[network.layers]]\nkind = \"lif\"\n";
  for (const std::string& name : bad) {
    const std::string line = "name = " + name + "\n";
    EXPECT_THROW(parse_experiment(parse_config_string(line + experiment_rest, "e.toml")),
                 ConfigError)
        << name;
    EXPECT_THROW(parse_simulation(parse_config_string(line, "s.toml")), ConfigError) << name;
  }
  try {
    parse_simulation(parse_config_string("name = \"../x\"\n", "s.toml"));
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'name'"), std::string::npos) << e.what();
  }
  for (const std::string& name :
       {std::string("run"), std::string("w1-seed.3"), std::string(128, 'n')}) {
    const std::string line = "name = \"" + name + "\"\n";
    EXPECT_EQ(parse_experiment(parse_config_string(line + experiment_rest, "e.toml")).name, name);
    EXPECT_EQ(parse_simulation(parse_config_string(line, "s.toml")).name, name);
  }
}

}  // namespace
}  // namespace homeostat
