#include "config/homeostasis_config.hpp"

#include <algorithm>
#include <string>

#include "neuron/model.hpp"

namespace homeostat {
namespace {

bool spiking(LayerKind kind) { return kind == LayerKind::lif || kind == LayerKind::recurrent; }
bool synaptic(LayerKind kind) {
  return kind == LayerKind::dense || kind == LayerKind::conv2d || kind == LayerKind::recurrent ||
         kind == LayerKind::readout;
}

}  // namespace

std::string unknown_layer(const std::string& name, const std::vector<LayerSpec>& layers) {
  std::string message = "no layer named '" + name + "' (layers: ";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) message += ", ";
    message += layers[i].name;
  }
  return message + ")";
}

std::string wrong_layer_kind(const std::string& name, const LayerSpec& layer,
                             const std::string& regulator, bool weights) {
  return "layer '" + name + "' is a " + std::string(layer_kind_name(layer.kind)) + " layer; " +
         regulator + " acts on " +
         (weights ? "layers with synapses or spiking neurons"
                  : "spiking layers (" + neuron_model_names() + ", recurrent)");
}

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
  RegulatorSpec spec{kind_name, section.string_list("layers", {}), {}};
  const bool weights = kind->channel == RegulatorChannel::weights;
  for (const std::string& name : spec.layers) {
    const auto found = std::find_if(layers.begin(), layers.end(),
                                    [&](const LayerSpec& l) { return l.name == name; });
    if (found == layers.end()) throw section.error("layers", unknown_layer(name, layers));
    if (weights ? !(spiking(found->kind) || synaptic(found->kind)) : !spiking(found->kind)) {
      throw section.error("layers", wrong_layer_kind(name, *found, kind_name, weights));
    }
  }
  if (spec.layers.empty() && std::none_of(layers.begin(), layers.end(),
                                          [](const LayerSpec& l) { return spiking(l.kind); })) {
    throw section.error("kind", "the network has no spiking layer for " + kind_name + " to act on");
  }
  spec.params = kind->read(section);  // the kind's own keys (homeostasis/registry.hpp)
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
  d.batch_metrics_every = read_count(s, "batch_metrics_every", d.batch_metrics_every);
  d.report = s.boolean("report", d.report);
  s.reject_unknown_keys();
  return d;
}

}  // namespace homeostat
