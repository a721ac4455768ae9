// PyTorch oracle: with real spikes (Heaviside forward) and each surrogate, the loss and every
// parameter gradient of homeostat's BPTT agree with the same network rebuilt in PyTorch
// (tests/oracle/torch_oracle.py: float64, an explicit time loop, autograd through a
// torch.autograd.Function per surrogate), to 1e-4 relative, for feed-forward, recurrent and conv
// networks in double precision on both sides, for the lif and cuba_lif neuron models; and LTMD's
// two-pass objective through moderate dropout (its Bernoulli draws handed to torch, the keep
// probabilities recomputed there).
//
// SetUpTestSuite builds and runs every case, writes them all into ONE case file in a fresh
// temporary directory and hands it to ONE python process (importing torch costs seconds); each
// test then compares its own case. ctest runs every test in its own process: the run directory
// is kept under a fingerprint of the case file and the script, so those processes reuse the first
// one's results instead of starting python once per test (HOMEOSTAT_TORCH_ORACLE_NO_CACHE=1: always
// run python). Without an importable torch the tests fail and say to run scripts/setup.sh,
// unless HOMEOSTAT_SKIP_TORCH_ORACLE=1, which skips them. HOMEOSTAT_KEEP_ORACLE_FILES=1 keeps an
// unpublished run directory too.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/dense.hpp"
#include "layer/moderate_dropout.hpp"
#include "layer/pool.hpp"
#include "layer/readout.hpp"
#include "layer/recurrent.hpp"
#include "layer/spiking.hpp"
#include "network/network.hpp"
#include "train/loss.hpp"
#include "train/two_pass.hpp"

namespace homeostat {
namespace {

using nlohmann::json;
using testing::random_tensor;

constexpr const char* kPython = "/usr/bin/python3";
constexpr double kTolerance = 1e-4;
// Relative errors use max(|a|, |b|, kFloor * max |tensor|): entries far below a tensor's scale
// (sums that nearly cancel) are compared against that scale instead of their own size.
constexpr double kFloor = 1e-3;
// A gradient tensor whose largest entry is below this counts as all zero (vacuous comparison).
constexpr double kMinimumSignal = 1e-12;

// ------------------------------------------------------------------------------------------
// Describing the network twice: as homeostat layers and as the JSON the oracle rebuilds.

std::string reset_name(ResetMode reset) {
  switch (reset) {
    case ResetMode::subtract:
      return "subtract";
    case ResetMode::zero:
      return "zero";
    case ResetMode::none:
      break;
  }
  return "none";
}

std::string learn_name(NeuronSpec::Learn learn) {
  switch (learn) {
    case NeuronSpec::Learn::layer:
      return "layer";
    case NeuronSpec::Learn::neuron:
      return "neuron";
    case NeuronSpec::Learn::none:
      break;
  }
  return "none";
}

json neuron_json(const NeuronSpec& spec, double threshold_scale) {
  json parameters = json::object();
  for (const auto& [key, value] : spec.model_parameters) parameters[key] = value;
  return {{"model", spec.model},
          {"parameters", parameters},
          {"decay", spec.decay},
          {"threshold", spec.threshold},
          {"threshold_scale", threshold_scale},
          {"reset", reset_name(spec.reset)},
          {"detach_reset", spec.detach_reset},
          {"refractory_steps", spec.refractory_steps},
          {"adaptive", spec.adaptive},
          {"adaptation_decay", spec.adaptation_decay},
          {"adaptation_strength", spec.adaptation_strength},
          {"learn_threshold", learn_name(spec.learn_threshold)},
          {"learn_decay", learn_name(spec.learn_decay)},
          {"surrogate",
           {{"kind", std::string(surrogate_kind_name(spec.surrogate.kind))},
            {"dampening", spec.surrogate.dampening},
            {"sharpness", spec.surrogate.sharpness},
            {"tail", spec.surrogate.tail},
            {"smooth_forward", spec.surrogate.smooth_forward}}}};
}

json tensor_json(const Tensor<double>& tensor) {
  return {{"shape", tensor.shape()},
          {"values", std::vector<double>(tensor.span().begin(), tensor.span().end())}};
}

InitSpec normal_init(double gain, double bias) {
  return {InitSpec::Kind::normal, gain, bias, false};
}

// Per-neuron learnable thresholds and decays start equal; spread them so each neuron differs.
void spread_neuron_parameters(NeuronPopulation<double>& population, std::uint64_t key) {
  for (Parameter<double>* p : population.parameters()) {
    if (p->value.size() < 2) continue;
    const bool threshold = p->name.ends_with(".threshold");
    const Tensor<double> noise = random_tensor(p->value.shape(), key, -1.0, 1.0);
    for (std::size_t i = 0; i < p->value.size(); ++i) {
      p->value[i] += (threshold ? 0.15 : 0.6) * noise[i];
    }
  }
}

class CaseBuilder {
 public:
  CaseBuilder(Shape sample_shape, std::uint64_t seed)
      : shape_(std::move(sample_shape)), seed_(seed) {}

  void dense(const std::string& name, std::size_t units, double gain, double bias = 0.1) {
    add(std::make_unique<DenseLayer<double>>(name, shape_, units, true, normal_init(gain, bias),
                                             seed_, index_),
        {{"kind", "dense"},
         {"name", name},
         {"in_features", shape_size(shape_)},
         {"units", units},
         {"bias", true}});
  }

  void lif(const std::string& name, const NeuronSpec& spec) {
    auto layer = std::make_unique<SpikingLayer<double>>(name, shape_, spec);
    spread_neuron_parameters(*layer->neurons(), 100 + index_);
    const double scale = layer->neurons()->threshold_scale();
    add(std::move(layer), {{"kind", "lif"}, {"name", name}, {"neuron", neuron_json(spec, scale)}});
  }

  void recurrent(const std::string& name, std::size_t units, const NeuronSpec& spec,
                 double input_gain, double recurrent_gain) {
    auto layer = std::make_unique<RecurrentLayer<double>>(
        name, shape_, units, spec, true, normal_init(input_gain, 0.1),
        normal_init(recurrent_gain, 0.0), seed_, index_);
    spread_neuron_parameters(*layer->neurons(), 100 + index_);
    const double scale = layer->neurons()->threshold_scale();
    add(std::move(layer), {{"kind", "recurrent"},
                           {"name", name},
                           {"in_features", shape_size(shape_)},
                           {"units", units},
                           {"zero_diagonal", true},
                           {"neuron", neuron_json(spec, scale)}});
  }

  void readout(const std::string& name, double decay) {
    add(std::make_unique<ReadoutLayer<double>>(name, shape_, decay),
        {{"kind", "readout"}, {"name", name}, {"decay", decay}});
  }

  void conv2d(const std::string& name, std::size_t out_channels, std::size_t kernel,
              std::size_t stride, std::size_t padding, double gain, double bias = 0.1) {
    const Shape input_shape = shape_;
    add(std::make_unique<Conv2dLayer<double>>(name, shape_, out_channels, kernel, stride, padding,
                                              true, normal_init(gain, bias), seed_, index_),
        {{"kind", "conv2d"},
         {"name", name},
         {"input_shape", input_shape},
         {"out_channels", out_channels},
         {"kernel", kernel},
         {"stride", stride},
         {"padding", padding},
         {"bias", true}});
  }

  void pool2d(const std::string& name, PoolKind kind, std::size_t size, std::size_t stride) {
    const Shape input_shape = shape_;
    add(std::make_unique<Pool2dLayer<double>>(name, shape_, kind, size, stride),
        {{"kind", "pool2d"},
         {"name", name},
         {"input_shape", input_shape},
         {"pool", kind == PoolKind::max ? "max" : "average"},
         {"size", size},
         {"stride", stride}});
  }

  // The keep bits come from the forward pass (run_homeostat fills them in).
  void moderate_dropout(const std::string& name, double drop_rate) {
    add(std::make_unique<ModerateDropoutLayer<double>>(name, shape_, drop_rate, index_),
        {{"kind", "moderate_dropout"}, {"name", name}, {"drop_rate", drop_rate}});
  }

  Network<double>& network() { return network_; }
  const json& layers() const { return layers_; }
  json& layers() { return layers_; }
  const Shape& shape() const { return shape_; }

  Tensor<double> input;
  std::vector<std::int32_t> labels;
  LossSpec loss;
  double two_pass_weight = -1.0;  // >= 0: LTMD's two-pass objective on the input stacked twice

 private:
  void add(LayerPtr<double> layer, json description) {
    shape_ = layer->output_shape();
    network_.add(std::move(layer));
    layers_.push_back(std::move(description));
    ++index_;
  }

  Shape shape_;
  std::uint64_t seed_;
  std::uint64_t index_ = 0;
  Network<double> network_;
  json layers_ = json::array();
};

// ------------------------------------------------------------------------------------------
// The cases.

struct OracleCase {
  std::string name;
  std::function<void(CaseBuilder&)> build;
  Shape sample_shape;
  std::uint64_t seed;
};

NeuronSpec base_spec() {
  NeuronSpec spec;
  spec.decay = 0.85;
  spec.threshold = 0.6;
  spec.reset = ResetMode::subtract;
  spec.detach_reset = false;
  spec.surrogate.kind = SurrogateKind::fast_sigmoid;
  spec.surrogate.dampening = 0.8;
  spec.surrogate.sharpness = 1.5;
  return spec;
}

// Dense(6->10) -> LIF -> Dense(10->4) -> LIF, spike-count cross-entropy, T=10, B=3.
std::function<void(CaseBuilder&)> feed_forward(const NeuronSpec& spec,
                                               LossKind loss = LossKind::ce_count) {
  return [spec, loss](CaseBuilder& b) {
    b.dense("fc1", 10, 2.5);
    b.lif("lif1", spec);
    b.dense("fc2", 4, 3.0);
    b.lif("lif2", spec);
    b.input = random_tensor({10, 3, 6}, 11, -1.0, 1.0);
    b.labels = {2, 0, 3};
    b.loss.kind = loss;
    b.loss.on_rate = 0.7;
    b.loss.off_rate = 0.1;
  };
}

std::vector<OracleCase> make_cases() {
  std::vector<OracleCase> cases;
  // Every surrogate with non-default dampening and sharpness (q = 4 for q_tail).
  struct Shape8 {
    SurrogateKind kind;
    const char* name;
    double dampening, sharpness;
  };
  const Shape8 shapes[] = {{SurrogateKind::fast_sigmoid, "FastSigmoid", 0.8, 1.5},
                           {SurrogateKind::q_tail, "QTail", 0.7, 1.2},
                           {SurrogateKind::sigmoid, "Sigmoid", 1.3, 0.8},
                           {SurrogateKind::arctan, "Arctan", 0.6, 1.4},
                           {SurrogateKind::triangular, "Triangular", 0.9, 0.7},
                           {SurrogateKind::exponential, "Exponential", 1.2, 1.3},
                           {SurrogateKind::gaussian, "Gaussian", 0.75, 0.9},
                           {SurrogateKind::rectangular, "Rectangular", 1.1, 0.6}};
  for (const Shape8& s : shapes) {
    NeuronSpec spec = base_spec();
    spec.surrogate.kind = s.kind;
    spec.surrogate.dampening = s.dampening;
    spec.surrogate.sharpness = s.sharpness;
    spec.surrogate.tail = 4.0;
    cases.push_back({std::string("Surrogate") + s.name, feed_forward(spec), {6}, 1});
  }
  // Reset modes x detach, with per-layer learnable threshold and decay.
  const std::pair<ResetMode, const char*> resets[] = {
      {ResetMode::subtract, "Subtract"}, {ResetMode::zero, "Zero"}, {ResetMode::none, "None"}};
  for (const auto& [reset, reset_label] : resets) {
    for (const bool detach : {false, true}) {
      NeuronSpec spec = base_spec();
      spec.reset = reset;
      spec.detach_reset = detach;
      spec.surrogate.kind = SurrogateKind::arctan;
      spec.surrogate.dampening = 0.9;
      spec.surrogate.sharpness = 1.1;
      spec.learn_threshold = NeuronSpec::Learn::layer;
      spec.learn_decay = NeuronSpec::Learn::layer;
      cases.push_back({std::string("Reset") + reset_label + (detach ? "Detached" : "Attached"),
                       feed_forward(spec),
                       {6},
                       2});
    }
  }
  // ALIF with per-neuron learnable threshold and decay.
  for (const bool detach : {false, true}) {
    NeuronSpec spec = base_spec();
    spec.adaptive = true;
    spec.adaptation_decay = 0.8;
    spec.adaptation_strength = 0.4;
    spec.detach_reset = detach;
    spec.surrogate.kind = SurrogateKind::sigmoid;
    spec.surrogate.sharpness = 0.9;
    spec.learn_threshold = NeuronSpec::Learn::neuron;
    spec.learn_decay = NeuronSpec::Learn::neuron;
    cases.push_back({std::string("AlifLearnablePerNeuron") + (detach ? "Detached" : "Attached"),
                     feed_forward(spec),
                     {6},
                     3});
  }
  {
    NeuronSpec spec = base_spec();
    spec.adaptive = true;
    spec.adaptation_decay = 0.7;
    spec.adaptation_strength = 0.5;
    spec.reset = ResetMode::zero;
    spec.surrogate.kind = SurrogateKind::gaussian;
    spec.learn_threshold = NeuronSpec::Learn::neuron;
    spec.learn_decay = NeuronSpec::Learn::neuron;
    cases.push_back({"AlifZeroResetLearnablePerNeuron", feed_forward(spec), {6}, 4});
  }
  // Refractory period of 2 steps.
  {
    NeuronSpec spec = base_spec();
    spec.refractory_steps = 2;
    spec.learn_threshold = NeuronSpec::Learn::neuron;
    cases.push_back({"Refractory2", feed_forward(spec), {6}, 5});
    spec.adaptive = true;
    spec.adaptation_decay = 0.75;
    spec.adaptation_strength = 0.3;
    spec.reset = ResetMode::zero;
    spec.detach_reset = true;
    spec.learn_decay = NeuronSpec::Learn::layer;
    cases.push_back({"Refractory2AlifZeroDetached", feed_forward(spec), {6}, 5});
  }
  // Spike-count MSE.
  {
    NeuronSpec spec = base_spec();
    spec.surrogate.kind = SurrogateKind::exponential;
    spec.learn_threshold = NeuronSpec::Learn::layer;
    cases.push_back({"MseCount", feed_forward(spec, LossKind::mse_count), {6}, 6});
  }
  // Recurrent (zero diagonal) -> Dense -> leaky readout, mean and max membrane losses.
  for (const LossKind loss : {LossKind::ce_mean_membrane, LossKind::ce_max_membrane}) {
    NeuronSpec spec = base_spec();
    spec.surrogate.kind = SurrogateKind::triangular;
    spec.surrogate.sharpness = 0.8;
    spec.adaptive = loss == LossKind::ce_max_membrane;
    spec.adaptation_decay = 0.8;
    spec.adaptation_strength = 0.3;
    spec.learn_threshold = NeuronSpec::Learn::neuron;
    spec.learn_decay = NeuronSpec::Learn::neuron;
    const bool mean = loss == LossKind::ce_mean_membrane;
    cases.push_back({mean ? "RecurrentReadoutMeanMembrane" : "RecurrentAlifReadoutMaxMembrane",
                     [spec, loss](CaseBuilder& b) {
                       b.recurrent("rec", 8, spec, 2.5, 2.0);
                       b.dense("fc", 3, 1.5);
                       b.readout("out", 0.9);
                       b.input = random_tensor({9, 3, 5}, 12, -1.0, 1.0);
                       b.labels = {1, 2, 0};
                       b.loss.kind = loss;
                     },
                     {5},
                     7});
  }
  // Conv2d(1->3, k3, pad 1) -> MaxPool 2 -> LIF -> Conv2d(3->4, k3, stride 2) -> AvgPool 2 ->
  // LIF -> Dense -> LIF on 1x20x20 images: 3x20x20 -> 3x10x10 (300 neurons) -> 4x4x4 -> 4x2x2
  // (16 neurons) -> 3 neurons.
  {
    NeuronSpec spec = base_spec();
    spec.surrogate.kind = SurrogateKind::fast_sigmoid;
    spec.learn_threshold = NeuronSpec::Learn::layer;
    cases.push_back({"ConvMaxPoolAvgPool",
                     [spec](CaseBuilder& b) {
                       b.conv2d("conv1", 3, 3, 1, 1, 0.8, -0.1);
                       b.pool2d("pool1", PoolKind::max, 2, 2);
                       b.lif("lif1", spec);
                       b.conv2d("conv2", 4, 3, 2, 0, 3.0, 0.4);
                       b.pool2d("pool2", PoolKind::average, 2, 2);
                       b.lif("lif2", spec);
                       b.dense("fc", 3, 3.0);
                       b.lif("lif3", spec);
                       b.input = random_tensor({6, 2, 1, 20, 20}, 13, -1.0, 1.0);
                       b.labels = {1, 2};
                     },
                     {1, 20, 20},
                     8});
  }
  // cuba_lif (neuron/cuba_lif.hpp): the synapse before the lif membrane, feed-forward with
  // learnable threshold and decay, with zero reset, refractory period and detached reset, and in
  // a recurrent layer with ALIF adaptation.
  {
    NeuronSpec spec = base_spec();
    spec.model = "cuba_lif";
    spec.model_parameters["synaptic_decay"] = 0.6;
    spec.surrogate.kind = SurrogateKind::arctan;
    spec.learn_threshold = NeuronSpec::Learn::layer;
    spec.learn_decay = NeuronSpec::Learn::neuron;
    cases.push_back({"CubaLif", feed_forward(spec), {6}, 10});
    spec.reset = ResetMode::zero;
    spec.detach_reset = true;
    spec.refractory_steps = 2;
    spec.model_parameters["synaptic_decay"] = 0.8;
    cases.push_back({"CubaLifZeroResetRefractoryDetached", feed_forward(spec), {6}, 11});
  }
  {
    NeuronSpec spec = base_spec();
    spec.model = "cuba_lif";
    spec.model_parameters["synaptic_decay"] = 0.7;
    spec.surrogate.kind = SurrogateKind::gaussian;
    spec.adaptive = true;
    spec.adaptation_decay = 0.8;
    spec.adaptation_strength = 0.3;
    spec.learn_threshold = NeuronSpec::Learn::neuron;
    cases.push_back({"RecurrentCubaAlifReadout",
                     [spec](CaseBuilder& b) {
                       b.recurrent("rec", 8, spec, 1.5, 1.0);
                       b.dense("fc", 3, 1.5);
                       b.readout("out", 0.9);
                       b.input = random_tensor({9, 3, 5}, 15, -1.0, 1.0);
                       b.labels = {1, 2, 0};
                       b.loss.kind = LossKind::ce_mean_membrane;
                     },
                     {5},
                     12});
  }
  // LTMD's two-pass objective (train/two_pass.hpp) through moderate dropout after the first
  // spiking layer (papers.md 5b): one pass over the batch stacked twice, different masks per
  // copy; the spike-count CE of both passes plus 0.7 x the symmetric KL of their counts.
  for (const LossKind loss : {LossKind::ce_count, LossKind::ce_mean_membrane}) {
    NeuronSpec spec = base_spec();
    spec.learn_threshold = NeuronSpec::Learn::layer;
    const bool count = loss == LossKind::ce_count;
    cases.push_back({count ? "TwoPassModerateDropout" : "TwoPassModerateDropoutReadout",
                     [spec, loss, count](CaseBuilder& b) {
                       b.dense("fc1", 12, 2.5);
                       b.lif("lif1", spec);
                       b.moderate_dropout("drop", 0.3);
                       b.dense("fc2", 4, 3.0);
                       if (count) {
                         b.lif("lif2", spec);
                       } else {
                         b.readout("out", 0.9);
                       }
                       b.input = random_tensor({10, 3, 6}, 14, -1.0, 1.0);
                       b.labels = {1, 3, 0};
                       b.loss.kind = loss;
                       b.two_pass_weight = 0.7;
                     },
                     {6},
                     9});
  }
  return cases;
}

const std::vector<OracleCase>& all_cases() {
  static const std::vector<OracleCase> cases = make_cases();
  return cases;
}

// ------------------------------------------------------------------------------------------
// Running homeostat and the oracle.

struct SpikingActivity {
  std::string layer;
  std::size_t spikes = 0;
  std::size_t entries = 0;
  std::size_t neurons = 0;         // neurons (features) per sample
  std::size_t active_neurons = 0;  // neurons that spike at least once, any sample
};

struct CaseOutcome {
  std::string error;  // building or running the C++ side failed
  double loss = 0.0;
  std::vector<std::pair<std::string, std::vector<double>>> gradients;  // network order
  std::vector<SpikingActivity> activity;
};

enum class OracleStatus { ok, torch_missing, failed };

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool env_is_one(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string(value) == "1";
}

// FNV-1a, 64 bits: names the cache entry of a (case file, script) pair.
std::string fingerprint(const std::string& text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  std::ostringstream hex;
  hex << std::hex << hash;
  return hex.str();
}

class TorchOracle : public ::testing::TestWithParam<std::string> {
 public:
  // Builds and runs EVERY case (milliseconds in C++) whatever the filter, so that the processes
  // ctest starts, one per test, all produce the same case file and share one python run.
  static void SetUpTestSuite() {
    outcomes_.clear();
    json cases = json::array();
    for (const OracleCase& c : all_cases()) {
      CaseOutcome& outcome = outcomes_[c.name];
      try {
        cases.push_back(run_homeostat(c, outcome));
      } catch (const std::exception& error) {
        outcome.error = error.what();
      }
    }
    run_oracle(json{{"cases", cases}}.dump());
  }

  static void TearDownTestSuite() {
    if (!directory_.empty() && !keep_directory_ && !env_is_one("HOMEOSTAT_KEEP_ORACLE_FILES")) {
      std::error_code ignored;
      std::filesystem::remove_all(directory_, ignored);
    }
    directory_.clear();
  }

 protected:
  static json run_homeostat(const OracleCase& c, CaseOutcome& outcome) {
    CaseBuilder builder(c.sample_shape, c.seed);
    c.build(builder);
    Network<double>& network = builder.network();
    network.zero_grad();
    const bool two_pass = builder.two_pass_weight >= 0.0;
    Tensor<double> stacked;
    if (two_pass) stack_twice(builder.input, stacked);
    const Tensor<double>& output =
        network.forward(two_pass ? stacked : builder.input, RunContext{true, 7, 0, 0});
    Tensor<double> grad_output;
    if (two_pass) {
      TwoPassObjective<double> objective;
      outcome.loss =
          objective
              .compute(builder.loss, builder.two_pass_weight, output, builder.labels, grad_output)
              .total.loss;
    } else {
      outcome.loss = compute_loss(builder.loss, output, builder.labels, grad_output).loss;
    }
    network.backward(grad_output);
    for (std::size_t i = 0; i < network.layer_count(); ++i) {
      if (const auto* dropout = dynamic_cast<ModerateDropoutLayer<double>*>(&network.layer(i))) {
        json keep = json::array();
        for (const double m : dropout->mask()) keep.push_back(m != 0.0 ? 1 : 0);
        builder.layers()[i]["keep"] = keep;
      }
    }

    for (std::size_t i = 0; i < network.layer_count(); ++i) {
      if (network.layer(i).neurons() == nullptr) continue;
      const Tensor<double>& spikes = network.output(i);
      SpikingActivity a;
      a.layer = network.layer(i).name();
      a.entries = spikes.size();
      a.neurons = shape_size(network.layer(i).output_shape());
      std::vector<bool> active(a.neurons, false);
      for (std::size_t e = 0; e < spikes.size(); ++e) {
        if (spikes[e] != 0.0) {
          ++a.spikes;
          active[e % a.neurons] = true;
        }
      }
      a.active_neurons = static_cast<std::size_t>(std::count(active.begin(), active.end(), true));
      outcome.activity.push_back(a);
    }

    json parameters = json::object();
    for (Parameter<double>* p : network.parameters()) {
      parameters[p->name] = tensor_json(p->value);
      outcome.gradients.emplace_back(
          p->name, std::vector<double>(p->grad.span().begin(), p->grad.span().end()));
    }
    json labels = json::array();
    for (const std::int32_t label : builder.labels) labels.push_back(label);
    return {{"name", c.name},
            {"layers", builder.layers()},
            {"parameters", parameters},
            {"input", tensor_json(builder.input)},
            {"labels", labels},
            {"loss",
             {{"kind", std::string(loss_kind_name(builder.loss.kind))},
              {"on_rate", builder.loss.on_rate},
              {"off_rate", builder.loss.off_rate},
              {"two_pass", builder.two_pass_weight >= 0.0},
              {"two_pass_weight", builder.two_pass_weight}}}};
  }

  // Reads a finished run's results if it was made from exactly this case file and script.
  static bool read_results(const std::filesystem::path& run, const std::string& case_text,
                           const std::string& script_text) {
    if (read_file(run / "cases.json") != case_text) return false;
    if (read_file(run / "torch_oracle.py") != script_text) return false;
    try {
      results_ = json::parse(read_file(run / "results.json")).at("cases");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  // Runs the oracle on the case file, or reuses the results of an identical earlier run: the
  // results depend only on the case file and the script, so each run directory is kept, named
  // by their fingerprint, in the temporary directory (HOMEOSTAT_TORCH_ORACLE_NO_CACHE=1: always
  // run python).
  static void run_oracle(const std::string& case_text) {
    status_ = OracleStatus::failed;
    results_ = json::object();
    keep_directory_ = false;
    const std::filesystem::path script =
        std::filesystem::path(HOMEOSTAT_TEST_DIR) / "oracle" / "torch_oracle.py";
    const std::string script_text = read_file(script);
    if (script_text.empty()) {
      message_ = "cannot read " + script.string();
      return;
    }
    if (!std::filesystem::exists(kPython)) {
      status_ = OracleStatus::torch_missing;
      message_ = std::string(kPython) + " does not exist";
      return;
    }
    const std::filesystem::path temp = std::filesystem::temp_directory_path();
    const std::filesystem::path cached =
        temp / ("homeostat_torch_oracle_" + fingerprint(case_text + '\0' + script_text));
    if (!env_is_one("HOMEOSTAT_TORCH_ORACLE_NO_CACHE") &&
        read_results(cached, case_text, script_text)) {
      status_ = OracleStatus::ok;
      std::cout << "[ oracle   ] reusing torch's results for the same cases in " << cached.string()
                << "\n";
      return;
    }

    std::string pattern = (temp / "homeostat_torch_oracle_run_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      message_ = "cannot create a temporary directory from " + pattern;
      return;
    }
    directory_ = pattern;
    const std::filesystem::path case_file = directory_ / "cases.json";
    const std::filesystem::path result_file = directory_ / "results.json";
    const std::filesystem::path error_file = directory_ / "stderr.txt";
    {
      std::ofstream cases_out(case_file);
      cases_out << case_text;
      std::ofstream script_out(directory_ / "torch_oracle.py");
      script_out << script_text;
      if (!cases_out || !script_out) {
        message_ = "cannot write the case file into " + directory_.string();
        return;
      }
    }
    const std::string command = std::string(kPython) + " '" + script.string() + "' '" +
                                case_file.string() + "' '" + result_file.string() + "' 2> '" +
                                error_file.string() + "'";
    const int raw = std::system(command.c_str());
    const int code = raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    const std::string errors = read_file(error_file);
    if (code == 3) {
      status_ = OracleStatus::torch_missing;
      message_ = errors;
      return;
    }
    if (code != 0) {
      message_ = "`" + command + "` exited with status " + std::to_string(code) +
                 "; its stderr:\n" + errors;
      return;
    }
    if (!read_results(directory_, case_text, script_text)) {
      message_ = "cannot read the oracle's results " + result_file.string();
      return;
    }
    status_ = OracleStatus::ok;
    std::cout << "[ oracle   ] torch checked the cases in " << directory_.string() << "\n";
    // Publish the run for the processes that follow (atomic; another process may have won).
    std::error_code error;
    std::filesystem::rename(directory_, cached, error);
    if (!error) {
      directory_ = cached;
      keep_directory_ = true;
    }
  }

  static inline std::map<std::string, CaseOutcome> outcomes_;
  static inline json results_;
  static inline OracleStatus status_ = OracleStatus::failed;
  static inline std::string message_;
  static inline std::filesystem::path directory_;
  static inline bool keep_directory_ = false;
};

// Worst relative error between two tensors, scale max(|a|, |b|, kFloor * max |tensor|).
struct Comparison {
  double worst = 0.0;
  std::size_t index = 0;
  double ours = 0.0;
  double theirs = 0.0;
  double largest_ours = 0.0;
  double largest_theirs = 0.0;
};

Comparison compare(const std::vector<double>& ours, const std::vector<double>& theirs) {
  Comparison c;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    c.largest_ours = std::max(c.largest_ours, std::abs(ours[i]));
    c.largest_theirs = std::max(c.largest_theirs, std::abs(theirs[i]));
  }
  const double floor = kFloor * std::max(c.largest_ours, c.largest_theirs);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const double scale = std::max({std::abs(ours[i]), std::abs(theirs[i]), floor});
    const double error = scale > 0.0 ? std::abs(ours[i] - theirs[i]) / scale : 0.0;
    if (error > c.worst || i == 0) {
      c.worst = error;
      c.index = i;
      c.ours = ours[i];
      c.theirs = theirs[i];
    }
  }
  return c;
}

TEST_P(TorchOracle, LossAndGradientsMatchPyTorch) {
  if (status_ == OracleStatus::torch_missing) {
    if (env_is_one("HOMEOSTAT_SKIP_TORCH_ORACLE")) {
      GTEST_SKIP() << "torch unavailable and HOMEOSTAT_SKIP_TORCH_ORACLE=1: " << message_;
    }
    FAIL() << kPython << " cannot import torch; run scripts/setup.sh (installs python3-torch), "
           << "or set HOMEOSTAT_SKIP_TORCH_ORACLE=1 to skip these tests.\n"
           << message_;
  }
  ASSERT_EQ(status_, OracleStatus::ok) << message_;
  const std::string& name = GetParam();
  const CaseOutcome& ours = outcomes_.at(name);
  ASSERT_TRUE(ours.error.empty()) << "homeostat failed on case " << name << ": " << ours.error;
  ASSERT_TRUE(results_.contains(name)) << "the oracle returned no result for " << name;
  const json& theirs = results_.at(name);
  ASSERT_FALSE(theirs.contains("error")) << "the oracle failed: " << theirs.at("error");

  // The case must exercise both sides of the Heaviside step in every spiking layer, and the
  // forward passes must agree spike for spike before gradients can be compared.
  for (const SpikingActivity& a : ours.activity) {
    EXPECT_GT(a.spikes, 0u) << a.layer << " never spikes";
    EXPECT_LT(a.spikes, a.entries) << a.layer << " fires at every step in every neuron";
    EXPECT_GT(a.active_neurons, 0u) << a.layer;
    const auto count = theirs.at("spike_counts").at(a.layer).get<std::size_t>();
    EXPECT_EQ(a.spikes, count) << a.layer << ": homeostat and torch fire differently";
  }

  std::ostringstream report;
  report << name << ": spike rates";
  for (const SpikingActivity& a : ours.activity) {
    report << " " << a.layer << " "
           << static_cast<double>(a.spikes) / static_cast<double>(a.entries) << " ("
           << a.active_neurons << "/" << a.neurons << " neurons)";
  }

  const double their_loss = theirs.at("loss").get<double>();
  const double loss_error = std::abs(ours.loss - their_loss) /
                            std::max({std::abs(ours.loss), std::abs(their_loss), 1e-300});
  EXPECT_LT(loss_error, kTolerance) << "loss: homeostat " << ours.loss << " torch " << their_loss;
  report << "; loss " << ours.loss << " rel err " << loss_error;

  const json& their_gradients = theirs.at("gradients");
  EXPECT_EQ(their_gradients.size(), ours.gradients.size()) << "parameter lists differ";
  double worst = 0.0;
  std::string worst_name;
  for (const auto& [parameter, grad] : ours.gradients) {
    if (!their_gradients.contains(parameter)) {
      ADD_FAILURE() << "the oracle has no gradient for " << parameter;
      continue;
    }
    const auto torch_grad = their_gradients.at(parameter).get<std::vector<double>>();
    ASSERT_EQ(torch_grad.size(), grad.size()) << parameter;
    const Comparison c = compare(grad, torch_grad);
    EXPECT_GT(c.largest_ours, kMinimumSignal) << parameter << ": homeostat's gradient is all zero";
    EXPECT_GT(c.largest_theirs, kMinimumSignal) << parameter << ": torch's gradient is all zero";
    EXPECT_LT(c.worst, kTolerance)
        << parameter << "[" << c.index << "]: homeostat " << c.ours << " vs torch " << c.theirs
        << " (largest |grad| " << c.largest_ours << ")";
    if (c.worst >= worst) {
      worst = c.worst;
      worst_name = parameter;
    }
  }
  report << "; worst gradient rel err " << worst << " (" << worst_name << ")";
  std::cout << "[ oracle   ] " << report.str() << "\n";
  RecordProperty("worst_gradient_relative_error", std::to_string(worst));
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const OracleCase& c : all_cases()) names.push_back(c.name);
  return names;
}

std::string case_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Cases, TorchOracle, ::testing::ValuesIn(case_names()), case_name);

}  // namespace
}  // namespace homeostat
