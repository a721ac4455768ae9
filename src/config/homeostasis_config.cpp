#include "config/homeostasis_config.hpp"

#include <algorithm>
#include <string>

namespace homeostat {
namespace {

constexpr double kInf = ConfigSection::kNoMax;

std::size_t count(const ConfigSection& s, std::string_view key, std::size_t fallback,
                  std::int64_t min = 0) {
  return static_cast<std::size_t>(
      s.integer(key, static_cast<std::int64_t>(fallback), min, std::int64_t{1} << 31));
}

RateSchedule read_schedule(const ConfigSection& section, const RateSchedule& fallback) {
  const ConfigSection s = section.table("schedule");
  RateSchedule schedule = fallback;
  schedule.start_epoch = s.number("start_epoch", schedule.start_epoch, 1.0, kInf);
  schedule.ramp_epochs = s.number("ramp_epochs", schedule.ramp_epochs, 0.0, kInf);
  schedule.shape = s.choice("ramp", "linear", {"linear", "cosine"}) == "cosine" ? RampShape::cosine
                                                                                : RampShape::linear;
  if (s.has("initial_target")) schedule.initial_target = s.number("initial_target", 0.0, 0.0, 1.0);
  schedule.anneal_epochs = s.number("anneal_epochs", schedule.anneal_epochs, 0.0, kInf);
  if (schedule.initial_target && !s.has("anneal_epochs")) {
    throw s.error("initial_target",
                  "give anneal_epochs too: the epochs over which the target "
                  "moves from initial_target to target");
  }
  s.reject_unknown_keys();
  return schedule;
}

struct ParamReader {
  const ConfigSection& s;
  std::string_view kind;

  void operator()(RatePenaltyParams& p) const {
    p.weight = s.number("weight", p.weight, 0.0, kInf);
    p.per_neuron = s.boolean("per_neuron", p.per_neuron);
    if (p.shape == PenaltyShape::l2) p.target = s.number("target", p.target, 0.0, 1.0);
    if (p.shape == PenaltyShape::band) {
      p.low = s.number("low", p.low, 0.0, 1.0);
      p.high = s.number("high", p.high, 0.0, 1.0);
      if (p.low > p.high) throw s.error("low", "must not exceed 'high'");
    }
    p.schedule = read_schedule(s, p.schedule);
  }
  void operator()(FiringConstraintParams& p) const {
    if (kind == "refractory") {
      p.refractory_steps = count(s, "steps", p.refractory_steps, 1);
    } else if (kind == "firing_cap") {
      p.cap_spikes = static_cast<std::size_t>(s.required_integer("spikes", 0, 60000));
      p.cap_window = static_cast<std::size_t>(s.required_integer("window", 1, 60000));
    } else {
      if (s.has("k") == s.has("fraction")) {
        throw s.error("k",
                      "kwta needs exactly one of 'k' (winners per step) or 'fraction' "
                      "(of the layer's neurons)");
      }
      p.winners = count(s, "k", 0, 1);
      p.winners_fraction = s.number("fraction", 0.0, 0.0, 1.0);
    }
  }
  void operator()(AdaptiveThresholdParams& p) const {
    p.target = s.number("target", p.target, 0.0, 1.0);
    p.eta = s.number("eta", p.eta, 0.0, kInf);
    p.min_scale = s.number("min_scale", p.min_scale, 1e-6, kInf);
    p.max_scale = s.number("max_scale", p.max_scale, p.min_scale, kInf);
  }
  void operator()(AhsarParams& p) const {
    p.low = s.number("low", p.low, 0.0, 1.0);
    p.high = s.number("high", p.high, p.low, 1.0);
    p.rho = s.number("rho", p.rho, 0.0, 1.0);
    p.eps = s.number("eps", p.eps, 0.0, kInf);
    p.max_deviation = s.number("max_deviation", p.max_deviation, 0.0, kInf);
    p.kappa = s.number("kappa", p.kappa, 0.0, 0.5);
    p.gain = s.number("gain", p.gain, 0.0, kInf);
    p.eta = s.number("eta", p.eta, 0.0, kInf);
    p.max_log_scale = s.number("max_log_scale", p.max_log_scale, 0.0, 20.0);
    p.eta_energy = s.number("eta_energy", p.eta_energy, 0.0, kInf);
    p.eta_validation = s.number("eta_validation", p.eta_validation, 0.0, kInf);
    p.progress_delta = s.number("progress_delta", p.progress_delta, 1e-9, kInf);
    p.min_global = s.number("min_global", p.min_global, 1e-6, 1.0);
    p.max_global = s.number("max_global", p.max_global, 1.0, kInf);
    if (p.high <= 0.0) throw s.error("high", "the band's centre must be above 0");
  }
  void operator()(SynapticScalingParams& p) const {
    p.target = s.number("target", p.target, 1e-9, 1.0);
    p.eta = s.number("eta", p.eta, 0.0, kInf);
    p.max_step = s.number("max_step", p.max_step, 0.0, 0.99);
    p.every = count(s, "every", p.every, 1);
  }
  void operator()(WeightBoundsParams& p) const {
    p.min = s.number("min", p.min);
    p.max = s.number("max", p.max);
    if (p.min > p.max) throw s.error("min", "must not exceed 'max'");
  }
  void operator()(SleepParams& p) const {
    p.trigger = s.choice("trigger", "schedule", {"schedule", "weight_sum"}) == "weight_sum"
                    ? SleepTrigger::weight_sum
                    : SleepTrigger::schedule;
    p.ratio = s.number("ratio", p.ratio, 0.0, 1.0);
    p.interval = count(s, "interval", p.interval, 1);
    p.lambda = s.number("lambda", p.lambda, 1e-9, 1.0);
    p.target = s.number("target", p.target, 0.0, kInf);
    p.max_factor = s.number("max_factor", p.max_factor, 1.0, kInf);
    p.baseline_factor = s.number("baseline_factor", p.baseline_factor, 0.0, p.max_factor);
    if (p.target == 0.0 && p.baseline_factor <= 1.0) {
      throw s.error("baseline_factor",
                    "must exceed 1 when 'target' is the initial mean |w| (the decay reaches the "
                    "initial weight sum only asymptotically)");
    }
    p.max_steps = count(s, "max_steps", p.max_steps, 1);
  }
};

bool spiking(LayerKind kind) { return kind == LayerKind::lif || kind == LayerKind::recurrent; }
bool synaptic(LayerKind kind) {
  return kind == LayerKind::dense || kind == LayerKind::conv2d || kind == LayerKind::recurrent ||
         kind == LayerKind::readout;
}

}  // namespace

RegulatorSpec read_regulator(const ConfigSection& section, const std::vector<LayerSpec>& layers) {
  std::string names;
  for (const RegulatorKind& k : regulator_table())
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  if (!section.has("kind"))
    throw section.error("", "every [[homeostasis]] entry needs a 'kind' (" + names + ")");
  const std::string kind_name = section.required_string("kind");
  const RegulatorKind* kind = find_regulator_kind(kind_name);
  if (!kind) {
    throw section.error("kind", "unknown regulator '" + kind_name + "'; valid kinds: " + names);
  }
  RegulatorSpec spec{kind_name, section.string_list("layers", {}), kind->defaults};
  const bool weights = kind->channel == RegulatorChannel::weights;
  for (const std::string& name : spec.layers) {
    const auto found = std::find_if(layers.begin(), layers.end(),
                                    [&](const LayerSpec& l) { return l.name == name; });
    if (found == layers.end()) {
      std::string valid;
      for (const LayerSpec& l : layers) valid += (valid.empty() ? "" : ", ") + l.name;
      throw section.error("layers", "no layer named '" + name + "' (layers: " + valid + ")");
    }
    if (weights ? !(spiking(found->kind) || synaptic(found->kind)) : !spiking(found->kind)) {
      throw section.error("layers", "layer '" + name + "' is a " +
                                        std::string(layer_kind_name(found->kind)) + " layer; " +
                                        kind_name + " acts on " +
                                        (weights ? "layers with synapses or spiking neurons"
                                                 : "spiking layers (lif, recurrent)"));
    }
  }
  if (spec.layers.empty() && std::none_of(layers.begin(), layers.end(),
                                          [](const LayerSpec& l) { return spiking(l.kind); })) {
    throw section.error("kind", "the network has no spiking layer for " + kind_name + " to act on");
  }
  std::visit(ParamReader{section, kind_name}, spec.params);
  section.reject_unknown_keys();
  return spec;
}

std::vector<RegulatorSpec> read_homeostasis(const ConfigSection& root,
                                            const std::vector<LayerSpec>& layers) {
  std::vector<RegulatorSpec> specs;
  for (const ConfigSection& section : root.array_of_tables("homeostasis")) {
    specs.push_back(read_regulator(section, layers));
  }
  return specs;
}

DiagnosticsSpec read_diagnostics(const ConfigSection& s) {
  DiagnosticsSpec d;
  const std::vector<double> band = s.number_list("band", {d.band_low, d.band_high});
  if (band.size() != 2 || !(band[0] >= 0.0 && band[0] <= band[1] && band[1] <= 1.0)) {
    throw s.error("band", "must be [low, high] with 0 <= low <= high <= 1");
  }
  d.band_low = band[0];
  d.band_high = band[1];
  d.silence_factor = s.number("silence_factor", d.silence_factor, 0.0, 1.0);
  d.saturation_alarm = s.number("saturation_alarm", d.saturation_alarm, 0.0, 1.0);
  d.saturation_rate = s.number("saturation_rate", d.saturation_rate, 0.0, 1.0);
  d.guard = s.boolean("guard", d.guard);
  d.batch_metrics_every = count(s, "batch_metrics_every", d.batch_metrics_every);
  d.report = s.boolean("report", d.report);
  s.reject_unknown_keys();
  return d;
}

}  // namespace homeostat
