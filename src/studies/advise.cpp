#include "studies/advise.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/error.hpp"
#include "config/experiment_reader.hpp"
#include "studies/advisor.hpp"

namespace homeostat {
namespace {

std::string number(double value) {
  if (!std::isfinite(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string_view reset_name(ResetMode reset) {
  switch (reset) {
    case ResetMode::subtract:
      return "subtract (paper: subtractive reset)";
    case ResetMode::zero:
      return "zero (paper: multreset2)";
    case ResetMode::none:
      break;
  }
  return "none (no reset; derived like the paper's)";
}

void row(const char* condition, const std::string& key, const std::string& configured,
         const std::string& advised, const std::string& note = "") {
  std::printf("  %-4s %-22s %-12s %-12s %s\n", condition, key.c_str(), configured.c_str(),
              advised.c_str(), note.c_str());
}

std::string init_kind(const InitSpec& init) {
  return init.kind == InitSpec::Kind::uniform ? "uniform" : "normal";
}

void print_layer(const LayerAdvice& a, const ExperimentConfig& config) {
  const LayerSpec& spec = config.layers[a.layer];
  const LayerSpec& weights = config.layers[a.weight_layer];
  const bool recurrent = a.kind == LayerKind::recurrent;
  std::printf(
      "\nlayer %zu '%s': %s %s, n_in %zu, n_rec %zu%s, alpha %s, theta %s, reset %s\n", a.layer,
      a.name.c_str(), recurrent ? "recurrent" : "lif", a.adaptive ? "ALIF" : "LIF", a.n_in, a.n_rec,
      recurrent ? (" (n_conn " + std::to_string(a.n_conn) + ")").c_str() : "",
      number(a.alpha).c_str(), number(a.theta).c_str(), std::string(reset_name(a.reset)).c_str());
  std::printf("  input: %s: E[x] %s, E[x^2] %s, max %s\n", a.input.source.c_str(),
              number(a.input.mean).c_str(), number(a.input.second_moment).c_str(),
              number(a.input.max).c_str());
  std::printf("  %-4s %-22s %-12s %-12s %s\n", "cond", "key", "configured", "advised", "how");
  const double configured_var =
      recurrent
          ? (spec.recurrent_init.kind == InitSpec::Kind::uniform ? 1.0 / 3.0 : 1.0) *
                spec.recurrent_init.gain * spec.recurrent_init.gain / static_cast<double>(a.n_rec)
          : 0.0;
  const std::string calibration =
      a.calibrated ? "; calibrated: rate " + number(a.calibration_rate) + " on a calibration batch"
                   : "";
  if (recurrent) {
    row("I", "recurrent_init_mean", number(spec.recurrent_init.mean), number(a.mu_rec),
        "paper " + number(a.mu_paper) + " (drive D " + number(a.drive) + " = input " +
            number(a.input_current_mean) + " + n_conn mu_rec / 2)" + calibration);
    row("II", "var(W_rec)", number(configured_var), number(a.var_rec),
        "E[x^2] var(W_in) n_in / n_conn - mu_rec^2 / 2, var(W_in) " + number(a.var_in));
    row("", "recurrent_init", init_kind(spec.recurrent_init), "normal");
    row("", "recurrent_init_gain", number(spec.recurrent_init.gain), number(a.gain_rec),
        "sqrt(var(W_rec) n_rec)");
  } else {
    row("I", "'" + weights.name + "'.init_mean", number(weights.init.mean), number(a.mu_in),
        "paper " + number(a.mu_paper) + " (input current mean = drive D " + number(a.drive) + ")" +
            calibration);
  }
  row("III", "dampening", number(spec.neuron.surrogate.dampening),
      a.dampening_feasible ? number(a.surrogate.dampening) : "(kept)",
      recurrent ? "min/max W_rec " + number(a.w_rec_min) + "/" + number(a.w_rec_max) +
                      ", max W_in " + number(a.w_in_max)
                : "max W_in " + number(a.w_in_max));
  const bool tail = a.surrogate.kind == SurrogateKind::q_tail;
  row("IV", tail ? "tail" : "sharpness",
      number(tail ? spec.neuron.surrogate.tail : spec.neuron.surrogate.sharpness),
      number(tail ? a.surrogate.tail : a.surrogate.sharpness) + (a.iv.root ? "" : " (!)"),
      std::string(surrogate_kind_name(a.surrogate.kind)) + ", v in [" + number(a.y_min) + ", " +
          number(a.y_max) + "], residual " + number(a.iv.residual));
  if (std::isfinite(a.advised_rate)) {
    row("", "initial rate", number(a.configured_rate), number(a.advised_rate),
        "measured: one forward pass, first batch (target 0.5)" +
            (std::isfinite(a.paper_rate) ? "; paper's I uncalibrated: " + number(a.paper_rate)
                                         : std::string()));
  }
  for (const std::string& note : a.notes) std::printf("  note: %s\n", note.c_str());
  if (std::isfinite(a.iv_dampening)) {
    std::printf("  note: at the configured %s %s, condition IV alone would need dampening %s\n",
                tail ? "tail" : "sharpness",
                number(tail ? spec.neuron.surrogate.tail : spec.neuron.surrogate.sharpness).c_str(),
                number(a.iv_dampening).c_str());
  }
}

}  // namespace

int run_advise(const std::string& config_path, const std::vector<std::string>& overrides,
               const std::string& apply_path) {
  const AdvisorReport report = run_advisor(config_path, overrides);
  const ExperimentConfig config = load_experiment(config_path, overrides);
  std::printf(
      "homeostat advise '%s': stability conditions I-IV of Herranz-Celotti & Rouat (seed 003)\n"
      "  I: recurrent mean for ~50%% initial firing; II: recurrent variance balancing the input;\n"
      "  III: dampening bounding gradients through time; IV: sharpness (or tail) for an expected\n"
      "  squared transition derivative of 1\n",
      report.config_name.c_str());
  std::printf("data: %s: E[x] %s, E[x^2] %s, max %s\n", report.data_input.source.c_str(),
              number(report.data_input.mean).c_str(),
              number(report.data_input.second_moment).c_str(),
              number(report.data_input.max).c_str());
  if (report.measured_samples > 0) {
    std::printf("initial rates: one forward pass on the first %zu training samples\n",
                report.measured_samples);
  }
  for (const LayerAdvice& a : report.layers) print_layer(a, config);
  if (!report.skipped.empty()) std::printf("\n");
  for (const std::string& skip : report.skipped) std::printf("skipped: %s\n", skip.c_str());
  if (report.layers.empty()) {
    std::printf(
        "no layer could be advised: the advisor handles recurrent layers and lif layers "
        "fed by a dense layer\n");
  }
  std::printf("\nadvised settings (as --set overrides):\n");
  for (const std::string& assignment : report.overrides) {
    std::printf("  --set %s\n", assignment.c_str());
  }
  if (!apply_path.empty()) {
    std::ofstream out(apply_path);
    out << report.advised_toml;
    out.close();
    if (!out) throw Error("cannot write the advised config to '" + apply_path + "'");
    std::printf("advised config written to %s\n", apply_path.c_str());
  }
  return 0;
}

}  // namespace homeostat
