// Builds a W1-like network (784 -> 256 LIF -> 10 LIF, Bernoulli rate code over 25 steps) through
// homeostat's C++ API, pulls its hidden layer into a firing band with a rate_band regulator,
// trains it for a few batches and prints the per-layer firing rates before and after.
//
//   regulated_rates [BATCHES] [TRAIN_SAMPLES]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <homeostat/homeostat.hpp>
#include <string>

namespace {

homeostat::Config regulated_w1(std::int64_t train_samples) {
  using homeostat::ConfigTable;
  homeostat::Config config;
  config.set("name", std::string("regulated_rates"))
      .set("seed", std::int64_t{1})
      .set("data.view", std::string("flat"))
      .set("data.time_steps", std::int64_t{25})
      .set("data.train_limit", train_samples)
      .set("data.test_limit", std::int64_t{256})
      .set("encoder.kind", std::string("rate"))
      .set("train.batch_size", std::int64_t{64})
      .set("train.lr", 5e-4)
      .set("train.loss", std::string("ce_count"));
  config.append("network.layers", ConfigTable{{"kind", std::string("dense")},
                                              {"name", std::string("fc1")},
                                              {"units", std::int64_t{256}}});
  config.append(
      "network.layers",
      ConfigTable{{"kind", std::string("lif")}, {"name", std::string("hidden")}, {"decay", 0.95}});
  config.append("network.layers", ConfigTable{{"kind", std::string("dense")},
                                              {"name", std::string("fc2")},
                                              {"units", std::int64_t{10}},
                                              {"bias_init", 0.3}});
  config.append(
      "network.layers",
      ConfigTable{{"kind", std::string("lif")}, {"name", std::string("output")}, {"decay", 0.95}});
  // The hidden layer's band: a penalty outside 2-5% spikes per neuron per step (it starts near
  // 7%, so the regulator has work to do).
  config.append("homeostasis", ConfigTable{{"kind", std::string("rate_band")},
                                           {"layers", std::vector<std::string>{"hidden"}},
                                           {"low", 0.02},
                                           {"high", 0.05},
                                           {"weight", 1.0}});
  return config;
}

void print_rates(const char* when, const std::vector<homeostat::LayerRates>& rates) {
  std::printf("%s:", when);
  for (const homeostat::LayerRates& layer : rates) {
    std::printf("  %s rate %.4f (dead %.2f, saturated %.2f)", layer.name.c_str(), layer.rate,
                layer.dead_fraction, layer.saturated_fraction);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::size_t batches = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20;
    const std::int64_t samples = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 2048;
    std::printf("homeostat %s\n", homeostat::kVersion);
    homeostat::Experiment experiment(regulated_w1(samples));
    for (const homeostat::LayerInfo& layer : experiment.layers()) {
      std::printf("layer %-7s %-6s %zu units%s\n", layer.name.c_str(), layer.kind.c_str(),
                  layer.shape.empty() ? 0 : layer.shape.front(), layer.spiking ? ", spiking" : "");
    }
    print_rates("before training (test)", experiment.evaluate().rates);
    const homeostat::TrainingProgress progress = experiment.train_batches(batches);
    std::printf("trained %zu batches: loss %.4f, penalty %.4f, accuracy %.2f%%\n", progress.batches,
                progress.loss, progress.penalty, 100.0 * progress.accuracy);
    print_rates("while training", progress.rates);
    const homeostat::Evaluation tested = experiment.evaluate();
    print_rates("after training (test)", tested.rates);
    std::printf("test accuracy %.2f%% on %zu samples\n", 100.0 * tested.accuracy, tested.samples);
    return 0;
  } catch (const homeostat::ConfigError& error) {
    std::fprintf(stderr, "config error: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}
