// The local-learning networks end to end on small synthetic data: W4's protocol and seed 002's
// recurrent network give identical results for 1 and 2 threads; without sleep the recurrent
// network's weight sum grows, with sleep it stays bounded; the sleep phase moves every weight by
// the formula |w| <- w_tgt (|w| / w_tgt)^(lambda^n); k-WTA, label assignment, config errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "config/simulation_reader.hpp"
#include "homeostasis/sleep.hpp"
#include "plasticity/diehl_cook.hpp"
#include "plasticity/label_assignment.hpp"
#include "plasticity/recurrent_network.hpp"
#include "plasticity/sleep_phase.hpp"
#include "random/counter_rng.hpp"
#include "run/simulate_run.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

// n images of 8x8 pixels: class c lights rows 2c..2c+3 (mod 8), plus noise.
Dataset synthetic(std::size_t n, std::uint64_t seed) {
  Dataset d;
  d.sample_shape = {8, 8};
  d.num_classes = 4;
  const CounterRng rng(seed, RngPurpose::test, {});
  for (std::size_t s = 0; s < n; ++s) {
    const auto label = static_cast<std::int32_t>(s % 4);
    d.labels.push_back(label);
    for (std::size_t y = 0; y < 8; ++y)
      for (std::size_t x = 0; x < 8; ++x) {
        const bool lit = ((y + 8 - 2 * static_cast<std::size_t>(label)) % 8) < 3;
        d.samples.push_back(
            static_cast<float>(lit ? 0.8 + 0.2 * rng.uniform(s * 64 + y * 8 + x) : 0.05));
      }
  }
  return d;
}

SimulationConfig parse(const std::string& text) {
  return parse_simulation(parse_config_string(text, "test.toml"));
}

SimulationConfig small_w4() {
  SimulationConfig c = parse(R"(
[data]
train_images = 40
label_images = 20
test_images = 20
[excitatory]
count = 30
[inhibitory]
count = 30
[input]
normalize_total = 12.0
weight_high = 0.5
[simulation]
presentation_ms = 100.0
rest_ms = 50.0
)");
  return c;
}

TEST(DiehlCook, IdenticalForOneAndTwoThreadsAndLearns) {
  const Dataset train = synthetic(40, 1);
  const Dataset test = synthetic(20, 2);
  SimulationConfig config = small_w4();
  SimulationOptions options;
  options.progress = false;
  options.write_run = false;
  const std::size_t saved = Projection::parallel_min_work;
  Projection::parallel_min_work = 1;  // take the OpenMP paths even on this small network
  const int threads = thread_count();
  set_thread_count(1);
  const SimulationResult one = run_diehl_cook(config, train, test, options);
  set_thread_count(2);
  const SimulationResult two = run_diehl_cook(config, train, test, options);
  set_thread_count(threads);
  Projection::parallel_min_work = saved;
  EXPECT_EQ(one.final_weights, two.final_weights);
  EXPECT_EQ(one.test_predictions, two.test_predictions);
  EXPECT_EQ(one.presentations, two.presentations);
  // Four easy classes: far above chance (0.25).
  EXPECT_GE(one.test_accuracy, 0.6);
  // Weight normalization keeps each neuron's input weights at the configured sum.
  double column = 0.0;
  for (std::size_t i = 0; i < 64; ++i) column += one.final_weights[i * 30];
  EXPECT_NEAR(column, 12.0, 0.5);
}

SimulationConfig small_recurrent(const std::string& sleep) {
  return parse(R"(
[simulation]
protocol = "recurrent"
[data]
train_images = 150
label_images = 40
test_images = 20
downsample = 1
[input]
weight_high = 8.0
[stdp]
a_plus = 0.02
[excitatory]
count = 40
[inhibitory]
count = 10
[recurrent]
ie_weight = 0.5
)" + sleep);
}

TEST(RecurrentSleep, WeightSumGrowsWithoutSleepAndStaysBoundedWithIt) {
  const Dataset train = synthetic(150, 3);
  const Dataset test = synthetic(20, 4);
  SimulationOptions options;
  options.progress = false;
  options.write_run = false;
  const SimulationResult awake = run_recurrent(small_recurrent(""), train, test, options);
  const SimulationResult asleep = run_recurrent(small_recurrent(R"(
[sleep]
enabled = true
trigger = "weight_sum"
max_factor = 1.08
baseline_factor = 1.04
lambda = 0.999
)"),
                                                train, test, options);
  const auto ratio = [](const SimulationResult& r, std::size_t k) {
    return r.weight_sum_trajectory[k] / r.weight_sum_trajectory.front();
  };
  const std::size_t last = awake.weight_sum_trajectory.size() - 1;
  EXPECT_GT(ratio(awake, last), 1.2) << "STDP alone should grow the weights";
  EXPECT_GT(ratio(awake, last), ratio(awake, last / 2));  // still growing
  EXPECT_EQ(awake.sleep_steps, 0u);
  EXPECT_GT(asleep.sleep_steps, 0u);
  for (std::size_t k = 0; k < asleep.weight_sum_trajectory.size(); ++k)
    EXPECT_LT(ratio(asleep, k), 1.12) << "at record " << k;
  EXPECT_LT(ratio(asleep, last), 1.1);
}

TEST(RecurrentSleep, IdenticalForOneAndTwoThreads) {
  const Dataset train = synthetic(10, 5);
  const Dataset test = synthetic(4, 6);
  SimulationConfig config = small_recurrent("[sleep]\nenabled = true\nratio = 0.2\ninterval = 5\n");
  config.train_images = 10;
  config.label_images = 8;
  config.test_images = 4;
  SimulationOptions options;
  options.progress = false;
  options.write_run = false;
  const std::size_t saved = Projection::parallel_min_work;
  Projection::parallel_min_work = 1;
  const int threads = thread_count();
  set_thread_count(1);
  const SimulationResult one = run_recurrent(config, train, test, options);
  set_thread_count(2);
  const SimulationResult two = run_recurrent(config, train, test, options);
  set_thread_count(threads);
  Projection::parallel_min_work = saved;
  EXPECT_EQ(one.final_weights, two.final_weights);
  EXPECT_EQ(one.weight_sum_trajectory, two.weight_sum_trajectory);
}

TEST(SleepPhase, DecaysEveryWeightByTheFormula) {
  Simulator sim(1.0, 1);
  const std::size_t in = sim.add_population(Population::poisson("in", 3));
  LifParams quiet;
  quiet.synapses = SynapseModel::current;
  quiet.v_th = 1e6;  // never fires: only the decay moves the weights
  const std::size_t out = sim.add_population(Population("out", 2, quiet));
  ProjectionSpec s;
  s.pre = in;
  s.post = out;
  s.init_low = 0.0;
  s.init_high = 2.0;
  s.stdp.kind = StdpKind::target;
  s.stdp.w_min = -10;
  s.stdp.w_max = 10;
  const std::size_t p = sim.add_projection(s);
  sim.projection(p).weights[1] = -1.5f;  // negative weights keep their sign
  sim.projection(p).weights[2] = 0.0f;   // zero stays zero
  const std::vector<float> before = sim.projection(p).weights;
  SleepParams params;
  params.lambda = 0.99;
  params.target = 0.5;
  SleepPhase phase(params, 0.0, {p}, {in}, {out}, sim);
  phase.sleep(sim, 60);  // 2 full decay blocks of 25 steps + 10
  for (std::size_t k = 0; k < before.size(); ++k) {
    const double w = before[k];
    const double expected =
        w == 0 ? 0.0 : (w > 0 ? 1 : -1) * 0.5 * std::pow(std::fabs(w) / 0.5, std::pow(0.99, 60));
    EXPECT_NEAR(sim.projection(p).weights[k], expected, 2e-6 * (1 + std::fabs(expected))) << k;
  }
  EXPECT_EQ(phase.slept_steps(), 60u);
}

TEST(SleepPhase, ScheduleMatchesTheRegulator) {
  SleepParams p;
  p.ratio = 0.1;
  p.interval = 50;
  EXPECT_EQ(scheduled_sleep_steps(p, 49, 100), 0.0);
  EXPECT_EQ(scheduled_sleep_steps(p, 50, 100), 500.0);  // 50 x 0.1 x 100
  EXPECT_EQ(scheduled_sleep_steps(p, 0, 100), 0.0);
  p.trigger = SleepTrigger::weight_sum;
  EXPECT_EQ(scheduled_sleep_steps(p, 50, 100), 0.0);
}

TEST(Population, KWinnersTakeAll) {
  LifParams p;
  p.synapses = SynapseModel::current;
  p.k_wta = 2;
  p.v_th = -50;
  Population pop("e", 5, p);
  pop.v = {-40, -45, -30, -49, -60};  // four above threshold; margins 10 5 20 1
  pop.ge.assign(5, 0.0f);
  p.tau_m = 1e9;
  std::vector<std::uint32_t> spikes(5);
  // tau_m = 100: the step moves v by < 1 %, not enough to change the order.
  const std::size_t n = pop.step(0, 0.01, false, 1, 0, spikes.data());
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(spikes[0], 0u);
  EXPECT_EQ(spikes[1], 2u);
  EXPECT_EQ(pop.v[1], pop.v[1]);  // a loser is not reset
  EXPECT_GT(pop.v[1], -50.0f);
}

TEST(LabelAssignment, MeanResponsePerClassAndSilentNeurons) {
  LabelAssignment a(3, 3);
  const std::vector<std::uint32_t> r0{4, 0, 0}, r1{1, 2, 0}, r1b{1, 4, 0};
  a.observe(r0, 0);
  a.observe(r1, 1);
  a.observe(r1b, 1);
  a.assign();
  // neuron 0: means 4 (class 0), 1 (class 1) -> class 0; neuron 1 -> class 1; neuron 2 silent.
  EXPECT_EQ(a.neuron_class()[0], 0u);
  EXPECT_EQ(a.neuron_class()[1], 1u);
  EXPECT_EQ(a.neuron_class()[2], LabelAssignment::kNoClass);
  EXPECT_EQ(a.neurons_per_class(), (std::vector<std::size_t>{1, 1, 0}));
  const std::vector<std::uint32_t> q{1, 3, 9};
  EXPECT_EQ(a.predict(q), 1u);
  EXPECT_EQ(a.silent_neurons(), 1u);
  // Proportion vote: neuron 0 gives 4 / (4 + 1) = 0.8 of its count to class 0, neuron 1 all of
  // its count to class 1: {1, 3, 9} -> 0.8 vs 3; {5, 1, 0} -> 4 vs 1.
  EXPECT_EQ(a.predict_proportion(q), 1u);
  const std::vector<std::uint32_t> q2{5, 1, 0};
  EXPECT_EQ(a.predict_proportion(q2), 0u);
  EXPECT_EQ(a.predict(q2), 0u);
}

TEST(SimulationConfig, ErrorsNameKeyAndLine) {
  try {
    parse("[stdp]\nrule = \"hebb\"\n");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("stdp.rule"), std::string::npos) << m;
    EXPECT_NE(m.find("line 2"), std::string::npos) << m;
  }
  EXPECT_THROW(parse("[excitatory]\nv_reset = -40.0\nv_th = -50.0\n"), ConfigError);
  EXPECT_THROW(parse("[simulation]\nbogus = 1\n"), ConfigError);
  EXPECT_THROW(parse("[inhibitory]\ncount = 10\n"), ConfigError);  // must match excitatory
  const SimulationConfig w4 = parse("");
  EXPECT_EQ(w4.excitatory_count, 400u);
  EXPECT_EQ(w4.input.stdp.kind, StdpKind::pair);
  EXPECT_TRUE(w4.input.stdp.soft_potentiation);
  EXPECT_FALSE(w4.input.stdp.soft_depression);
}

}  // namespace
}  // namespace homeostat
