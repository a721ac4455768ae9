#include "config/simulation_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/system_memory.hpp"

namespace homeostat {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

LifParams read_lif(const ConfigSection& s, LifParams p) {
  p.v_rest = s.number("v_rest", p.v_rest);
  p.v_reset = s.number("v_reset", p.v_reset);
  p.v_th = s.number("v_th", p.v_th);
  p.v_init = s.number("v_init", p.v_init);
  p.tau_m = s.number("tau_m", p.tau_m, 1e-6, kInf);
  p.refractory_ms = s.number("refractory_ms", p.refractory_ms, 0.0, kInf);
  p.refractory_includes_spike_step =
      s.boolean("refractory_includes_spike_step", p.refractory_includes_spike_step);
  p.synapses =
      s.choice("synapses", p.synapses == SynapseModel::conductance ? "conductance" : "current",
               {"conductance", "current"}) == "conductance"
          ? SynapseModel::conductance
          : SynapseModel::current;
  p.tau_exc = s.number("tau_exc", p.tau_exc, 1e-6, kInf);
  p.tau_inh = s.number("tau_inh", p.tau_inh, 1e-6, kInf);
  p.e_exc = s.number("e_exc", p.e_exc);
  p.e_inh = s.number("e_inh", p.e_inh);
  p.noise_mv = s.number("noise_mv", p.noise_mv, 0.0, kInf);
  p.theta_plus = s.number("theta_plus", p.theta_plus, 0.0, kInf);
  p.tau_theta = s.number("tau_theta", p.tau_theta, 1e-6, kInf);
  p.adapt_delta = s.number("adapt_delta", p.adapt_delta, 0.0, kInf);
  p.tau_adapt = s.number("tau_adapt", p.tau_adapt, 1e-6, kInf);
  p.k_wta = static_cast<std::size_t>(s.integer("k_wta", static_cast<std::int64_t>(p.k_wta), 0));
  p.v_min = s.number("v_min", p.v_min);
  p.v_max = s.number("v_max", p.v_max);
  if (p.v_reset >= p.v_th) throw s.error("v_reset", "must be below v_th");
  if (p.v_min >= p.v_max) throw s.error("v_min", "must be below v_max");
  return p;
}

StdpParams read_stdp(const ConfigSection& s, StdpParams p) {
  const std::string rule = s.choice("rule", p.kind == StdpKind::target ? "target" : "pair",
                                    {"none", "pair", "triplet", "target"});
  p.kind = rule == "none"      ? StdpKind::none
           : rule == "pair"    ? StdpKind::pair
           : rule == "triplet" ? StdpKind::triplet
                               : StdpKind::target;
  p.pairing = s.choice("pairing", p.pairing == TracePairing::nearest ? "nearest" : "all_to_all",
                       {"all_to_all", "nearest"}) == "nearest"
                  ? TracePairing::nearest
                  : TracePairing::all_to_all;
  const std::string dependence =
      s.choice("dependence",
               p.soft_potentiation ? (p.soft_depression ? "multiplicative" : "mixed") : "additive",
               {"additive", "multiplicative", "mixed"});
  p.soft_potentiation = dependence != "additive";
  p.soft_depression = dependence == "multiplicative";
  p.tau_plus = s.number("tau_plus", p.tau_plus, 1e-6, kInf);
  p.tau_minus = s.number("tau_minus", p.tau_minus, 1e-6, kInf);
  p.tau_x = s.number("tau_x", p.tau_x, 1e-6, kInf);
  p.tau_y = s.number("tau_y", p.tau_y, 1e-6, kInf);
  p.a_plus = s.number("a_plus", p.a_plus);
  p.tau_target = s.number("tau_target", p.tau_target, 0.0, kInf);
  p.a_minus = s.number("a_minus", p.a_minus);
  p.a3_plus = s.number("a3_plus", p.a3_plus);
  p.a3_minus = s.number("a3_minus", p.a3_minus);
  p.mu_plus = s.number("mu_plus", p.mu_plus, 0.0, kInf);
  p.mu_minus = s.number("mu_minus", p.mu_minus, 0.0, kInf);
  p.w_min = s.number("w_min", p.w_min);
  p.w_max = s.number("w_max", p.w_max);
  if (p.w_min > p.w_max) throw s.error("w_min", "must not exceed w_max");
  return p;
}

// Weights, delay and normalization of a projection (not its populations).
void read_projection(const ConfigSection& s, ProjectionSpec& p) {
  p.init_low = s.number("weight_low", p.init_low);
  p.init_high = s.number("weight_high", p.init_high);
  if (p.init_high < p.init_low) throw s.error("weight_high", "must not be below weight_low");
  p.delay =
      static_cast<std::size_t>(s.integer("delay", static_cast<std::int64_t>(p.delay), 1, 1000));
  p.normalize_total = s.number("normalize_total", p.normalize_total, 0.0, kInf);
}

void read_identity(const ConfigSection& root, SimulationConfig& c) {
  c.name = read_run_name(root, c.name);
  c.seed = static_cast<std::uint64_t>(root.integer("seed", 1, 0));
  c.threads = static_cast<int>(root.integer("threads", 0, 0, 1024));
}

// The longest presentation or rest (ms) and the most clock steps one image may take.
constexpr double kMaxPhaseMs = 1e6;
constexpr double kMaxStepsPerImage = 1e7;

// [simulation]: the protocol (whose defaults the other sections take), timing, frozen passes.
void read_simulation_section(const ConfigSection& sim, SimulationConfig& c) {
  const std::string protocol =
      sim.choice("protocol", "diehl_cook", {"diehl_cook", "recurrent", "ncg"});
  c.protocol = protocol == "recurrent" ? SimulationProtocol::recurrent
               : protocol == "ncg"     ? SimulationProtocol::ncg
                                       : SimulationProtocol::diehl_cook;
  const bool recurrent = c.protocol == SimulationProtocol::recurrent;
  c.dt = sim.number("dt", recurrent ? 1.0 : c.dt, 1e-4, 100.0);
  c.presentation_ms =
      sim.number("presentation_ms", recurrent ? 100.0 : c.presentation_ms, c.dt, kMaxPhaseMs);
  c.rest_ms = sim.number("rest_ms", recurrent ? 0.0 : c.rest_ms, 0.0, kMaxPhaseMs);
  c.fast_rest = sim.boolean("fast_rest", c.fast_rest);
  c.frozen_from_rest = sim.boolean("frozen_from_rest", c.frozen_from_rest);
  c.frozen_sequential = sim.boolean("frozen_sequential", c.frozen_sequential);
  c.label_fraction = sim.choice("label_response", "count", {"count", "fraction"}) == "fraction";
  c.frozen_presentation_ms =
      sim.number("frozen_presentation_ms", c.frozen_presentation_ms, 0.0, kMaxPhaseMs);
  c.min_spikes = static_cast<std::size_t>(sim.integer("min_spikes", 5, 0));
  c.max_retries = static_cast<std::size_t>(sim.integer("max_retries", 8, 0, 1000));
  // Every image is simulated step by step: bound the steps one image can take (retries included)
  // so that no config runs for ever.
  const double presentation = std::max(c.presentation_ms, c.frozen_presentation_ms);
  const double attempts =
      c.protocol == SimulationProtocol::diehl_cook ? static_cast<double>(c.max_retries + 1) : 1.0;
  const double steps = attempts * (presentation + c.rest_ms) / c.dt;
  if (steps > kMaxStepsPerImage) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "one image would take %.3g simulation steps ((max_retries + 1) x (presentation "
                  "+ rest) / dt); at most %.0e are allowed",
                  steps, kMaxStepsPerImage);
    const char* key = c.rest_ms > presentation                       ? "rest_ms"
                      : c.frozen_presentation_ms > c.presentation_ms ? "frozen_presentation_ms"
                                                                     : "presentation_ms";
    throw sim.error(key, text);
  }
  c.initial_state = sim.string("initial_state", "");
  sim.reject_unknown_keys();
}

void read_data_section(const ConfigSection& data, SimulationConfig& c) {
  const bool recurrent = c.protocol == SimulationProtocol::recurrent;
  c.data_directory = data.string("directory", kDefaultFashionMnistDir);
  c.train_images =
      static_cast<std::size_t>(data.integer("train_images", recurrent ? 3000 : 60000, 0));
  c.label_images =
      static_cast<std::size_t>(data.integer("label_images", recurrent ? 2000 : 10000, 1));
  c.test_images =
      static_cast<std::size_t>(data.integer("test_images", recurrent ? 1000 : 10000, 1));
  if (c.train_images == 0 &&
      (c.protocol != SimulationProtocol::diehl_cook || c.initial_state.empty()))
    throw data.error("train_images",
                     "must be >= 1 (0 only for diehl_cook with simulation.initial_state, to "
                     "evaluate a saved network)");
  c.epochs = static_cast<std::size_t>(data.integer("epochs", 1, 1, 1000));
  c.shuffle = data.boolean("shuffle", c.protocol == SimulationProtocol::ncg);
  c.downsample = static_cast<std::size_t>(data.integer("downsample", recurrent ? 2 : 1, 1, 28));
  data.reject_unknown_keys();
}

void read_input_section(const ConfigSection& input, SimulationConfig& c) {
  const bool recurrent = c.protocol == SimulationProtocol::recurrent;
  c.max_rate_hz = input.number("max_rate_hz", recurrent ? 50.0 : c.max_rate_hz, 0.0, 1e5);
  c.intensity_step_hz = input.number("intensity_step_hz", c.intensity_step_hz, 0.0, 1e5);
  c.input.name = "input";
  c.input.init_high = recurrent ? 2.0 : 0.3;
  c.input.normalize_total = recurrent ? 0.0 : 78.0;
  read_projection(input, c.input);
  input.reject_unknown_keys();
}

// The STDP defaults: W4's (Diehl & Cook), or seed 002's older kernel for the recurrent protocol
// (no soft bound, clipped to [0.01, 25]).
StdpParams default_stdp(bool recurrent) {
  StdpParams stdp;
  stdp.kind = StdpKind::pair;
  stdp.pairing = TracePairing::nearest;
  stdp.soft_potentiation = true;
  stdp.a_plus = 0.01;
  stdp.a_minus = 1e-4;
  if (recurrent) {
    stdp.kind = StdpKind::target;
    stdp.pairing = TracePairing::all_to_all;
    stdp.tau_plus = 25.0;
    stdp.tau_target = 1000.0;
    stdp.a_plus = 8e-4;
    stdp.mu_plus = 0.0;
    stdp.w_min = 0.01;
    stdp.w_max = 25.0;
  }
  return stdp;
}

// Seed 002's LIF (membrane.LIF, older kernel), both populations of the recurrent protocol.
LifParams seed002_lif() {
  LifParams lif;
  lif.synapses = SynapseModel::current;
  lif.v_rest = -70.0;
  lif.v_reset = -80.0;
  lif.v_th = -55.0;
  lif.v_init = -70.0;
  lif.tau_m = 30.0;
  lif.refractory_ms = 2.0;
  lif.tau_exc = 5.0;
  lif.tau_inh = 5.0;
  lif.noise_mv = 1.0;
  lif.adapt_delta = 1.0;
  lif.tau_adapt = 100.0;
  lif.v_min = -100.0;
  lif.v_max = 40.0;
  return lif;
}

LifParams default_excitatory(bool recurrent) {
  if (recurrent) return seed002_lif();
  LifParams w4;
  w4.v_init = -105.0;
  w4.theta_plus = 0.05;
  return w4;
}

LifParams default_inhibitory(bool recurrent) {
  if (recurrent) {
    LifParams lif = seed002_lif();
    lif.adapt_delta = 0.0;
    return lif;
  }
  LifParams w4;
  w4.v_rest = -60.0;
  w4.v_reset = -45.0;
  w4.v_th = -40.0;
  w4.v_init = -100.0;
  w4.tau_m = 10.0;
  w4.refractory_ms = 2.0;
  return w4;
}

// The dense projections' weights (4 bytes a synapse; traces and scratch not counted) must fit
// in memory: a config asking for millions of neurons is refused before anything is built.
void check_population_memory(const ConfigSection& excitatory, const SimulationConfig& c) {
  if (c.protocol == SimulationProtocol::ncg) return;  // no spiking populations
  const std::optional<MemoryLimit> limit = memory_limit();
  if (!limit) return;
  const auto exc = static_cast<double>(c.excitatory_count);
  const auto inh = static_cast<double>(c.inhibitory_count);
  const double side = std::ceil(28.0 / static_cast<double>(c.downsample));  // 28 x 28 images
  double synapses = side * side * exc;
  if (c.protocol == SimulationProtocol::recurrent) {
    synapses += exc * exc + 2.0 * exc * inh;
  } else if (c.competition == CompetitionKind::inhibitory) {
    synapses += exc + inh * exc;
  } else {
    synapses += exc * exc;
  }
  const double bytes = 4.0 * synapses;
  if (bytes <= static_cast<double>(limit->bytes)) return;
  throw excitatory.error("count", "the projections would need about " + format_bytes(bytes) +
                                      " for their weights alone but the limit is " +
                                      format_bytes(static_cast<double>(limit->bytes)) + ", " +
                                      limit->source);
}

// [excitatory], [inhibitory] and [competition] (with the check across them).
void read_populations(const ConfigSection& root, SimulationConfig& c) {
  const bool recurrent = c.protocol == SimulationProtocol::recurrent;
  const ConfigSection e = root.table("excitatory");
  c.excitatory_count =
      static_cast<std::size_t>(e.integer("count", recurrent ? 200 : 400, 1, 1 << 20));
  c.excitatory = read_lif(e, default_excitatory(recurrent));
  e.reject_unknown_keys();

  const ConfigSection i = root.table("inhibitory");
  c.inhibitory_count =
      static_cast<std::size_t>(i.integer("count", recurrent ? 50 : 400, 1, 1 << 20));
  c.inhibitory = read_lif(i, default_inhibitory(recurrent));
  i.reject_unknown_keys();

  const ConfigSection comp = root.table("competition");
  c.competition = comp.choice("kind", "inhibitory", {"inhibitory", "direct"}) == "direct"
                      ? CompetitionKind::direct
                      : CompetitionKind::inhibitory;
  c.excitatory_to_inhibitory = comp.number("excitatory_to_inhibitory", 10.4, 0.0, kInf);
  c.inhibitory_to_excitatory = comp.number("inhibitory_to_excitatory", 17.0, 0.0, kInf);
  comp.reject_unknown_keys();
  if (c.competition == CompetitionKind::inhibitory && !recurrent &&
      c.inhibitory_count != c.excitatory_count) {
    throw i.error("count",
                  "must equal excitatory.count (one-to-one E -> I) for competition "
                  "kind 'inhibitory'");
  }
  check_population_memory(e, c);
}

void read_recurrent_section(const ConfigSection& rec, SimulationConfig& c) {
  c.recurrent_ee.name = "excitatory_to_excitatory";
  c.recurrent_ee.init_low = rec.number("ee_weight_low", 0.0);
  c.recurrent_ee.init_high = rec.number("ee_weight_high", 0.5);
  if (c.recurrent_ee.init_high < c.recurrent_ee.init_low)
    throw rec.error("ee_weight_high", "must not be below ee_weight_low");
  c.recurrent_ei.name = "excitatory_to_inhibitory";
  c.recurrent_ei.init_low = c.recurrent_ei.init_high = rec.number("ei_weight", 1.0, 0.0, kInf);
  c.recurrent_ie.name = "inhibitory_to_excitatory";
  c.recurrent_ie.init_low = c.recurrent_ie.init_high = rec.number("ie_weight", 2.0, 0.0, kInf);
  const auto delay = static_cast<std::size_t>(rec.integer("delay", 1, 1, 1000));
  c.recurrent_ee.delay = c.recurrent_ei.delay = c.recurrent_ie.delay = delay;
  c.readout_lambda = rec.number("readout_lambda", c.readout_lambda, 0.0, kInf);
  rec.reject_unknown_keys();
}

void read_sleep_section(const ConfigSection& sl, SimulationConfig& c) {
  c.sleep_enabled = sl.boolean("enabled", false);
  c.sleep.trigger = sl.choice("trigger", "schedule", {"schedule", "weight_sum"}) == "weight_sum"
                        ? SleepTrigger::weight_sum
                        : SleepTrigger::schedule;
  c.sleep.ratio = sl.number("ratio", 0.1, 0.0, 100.0);
  c.sleep.interval = static_cast<std::size_t>(sl.integer("interval", 100, 1));
  c.sleep.lambda = sl.number("lambda", 0.99997, 0.0, 1.0);
  c.sleep.target = sl.number("target", 0.0, 0.0, kInf);
  c.sleep.max_factor = sl.number("max_factor", 1.5, 1.0, kInf);
  c.sleep.baseline_factor = sl.number("baseline_factor", 1.05, 0.0, kInf);
  c.sleep.max_steps = static_cast<std::size_t>(sl.integer("max_steps", 100000, 1));
  c.sleep_noise_mv = sl.number("noise_mv", 5.0, 0.0, kInf);
  sl.reject_unknown_keys();
  if (!c.sleep_enabled) c.sleep.ratio = 0.0, c.sleep.trigger = SleepTrigger::schedule;
}

// [ncg]; its epochs and seed are [data]'s and the top level's.
void read_ncg_section(const ConfigSection& n, SimulationConfig& c) {
  NcgParams& g = c.ncg;
  g.per_class = static_cast<std::size_t>(n.integer("per_class", 10, 1, 10000));
  g.steps = static_cast<std::size_t>(n.integer("steps", 100, 2, 100000));
  g.threshold = n.number("threshold", 100.0, 0.0, kInf);
  g.threshold_min = n.number("threshold_min", 10.0, 0.0, kInf);
  g.threshold_lr = n.number("threshold_lr", 1.0, 0.0, kInf);
  g.gap = n.number("gap", 10.0, 0.0, kInf);
  g.a_plus = n.number("a_plus", 0.1, 0.0, kInf);
  g.a_minus = n.number("a_minus", -0.1, -kInf, 0.0);
  g.beta = n.number("beta", 0.0, 0.0, kInf);
  g.w_min = n.number("w_min", 0.0);
  g.w_max = n.number("w_max", 1.0);
  if (g.w_min >= g.w_max) throw n.error("w_min", "must be below w_max");
  g.init_low = n.number("weight_low", 0.0);
  g.init_high = n.number("weight_high", 1.0);
  g.anneal = n.number("anneal", 0.7, 0.0, 1.0);
  g.normalize = n.number("normalize", 392.0, 0.0, kInf);
  n.reject_unknown_keys();
  g.epochs = c.epochs;
  g.seed = c.seed;
}

void read_output_section(const ConfigSection& output, SimulationConfig& c) {
  c.output_directory = output.string("directory", "runs");
  c.progress_seconds = output.number("progress_seconds", 10.0, 0.0, kInf);
  c.save_responses = output.boolean("save_responses", c.save_responses);
  c.save_state = output.boolean("save_state", c.save_state);
  output.reject_unknown_keys();
}

}  // namespace

// The sections in a fixed order ([simulation] first: its protocol sets the others' defaults), so
// that a config with several errors always reports the same one.
SimulationConfig parse_simulation(const ConfigDocument& document) {
  SimulationConfig c;
  const ConfigSection root(document, document.root, "");
  read_identity(root, c);
  read_simulation_section(root.table("simulation"), c);
  read_data_section(root.table("data"), c);
  read_input_section(root.table("input"), c);
  const ConfigSection stdp = root.table("stdp");
  c.input.stdp = read_stdp(stdp, default_stdp(c.protocol == SimulationProtocol::recurrent));
  stdp.reject_unknown_keys();
  read_populations(root, c);
  read_recurrent_section(root.table("recurrent"), c);
  read_sleep_section(root.table("sleep"), c);
  read_ncg_section(root.table("ncg"), c);
  read_output_section(root.table("output"), c);
  root.reject_unknown_keys();
  c.resolved_toml = to_toml_string(document.root);
  return c;
}

SimulationConfig load_simulation(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides) {
  ConfigDocument document = load_config_file(path);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  return parse_simulation(document);
}

}  // namespace homeostat
