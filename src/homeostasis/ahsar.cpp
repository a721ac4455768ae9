#include "homeostasis/ahsar.hpp"

#include <algorithm>
#include <cmath>

namespace homeostat {

double ahsar_deviation(const AhsarParams& params, double state) {
  const double centre = 0.5 * (params.low + params.high);
  return std::clamp((state - centre) / (centre + params.eps), -params.max_deviation,
                    params.max_deviation);
}

std::vector<double> ahsar_fast_step(const AhsarParams& params, const std::vector<double>& u,
                                    const std::vector<double>& deviation) {
  const std::size_t layers = deviation.size();
  std::vector<double> next(layers);
  for (std::size_t l = 0; l < layers; ++l) {
    const double left = l > 0 ? deviation[l - 1] : deviation[l];
    const double right = l + 1 < layers ? deviation[l + 1] : deviation[l];
    const double diffused = deviation[l] + params.kappa * (left - 2.0 * deviation[l] + right);
    next[l] = std::clamp(u[l] + params.eta * std::tanh(params.gain * diffused),
                         -params.max_log_scale, params.max_log_scale);
  }
  return next;
}

double ahsar_global_step(const AhsarParams& params, double global, double energy, double progress) {
  const double centre = 0.5 * (params.low + params.high);
  const double target_energy = centre * centre;
  const double exponent = params.eta_energy * (energy - target_energy) / target_energy -
                          params.eta_validation * progress;
  return std::clamp(global * std::exp(exponent), params.min_global, params.max_global);
}

template <typename Real>
Ahsar<Real>::Ahsar(std::string kind, std::vector<std::size_t> layers, const AhsarParams& params)
    : Regulator<Real>(std::move(kind), std::move(layers)),
      params_(params),
      state_(this->layers().size(), 0.0),
      log_scale_(this->layers().size(), 0.0) {}

template <typename Real>
void Ahsar<Real>::apply(Network<Real>& network) const {
  for (std::size_t k = 0; k < this->layers().size(); ++k) {
    network.layer(this->layers()[k])
        .neurons()
        ->set_threshold_scale(global_ * std::exp(log_scale_[k]));
  }
}

template <typename Real>
void Ahsar<Real>::after_forward(Network<Real>& network, const BatchActivity& activity,
                                const TrainingClock&) {
  std::vector<double> deviation(state_.size());
  for (std::size_t k = 0; k < state_.size(); ++k) {
    const double rate = activity.rates[activity.slot(this->layers()[k])];
    state_[k] = started_ ? (1.0 - params_.rho) * state_[k] + params_.rho * rate : rate;
    deviation[k] = ahsar_deviation(params_, state_[k]);
  }
  started_ = true;
  log_scale_ = ahsar_fast_step(params_, log_scale_, deviation);
  apply(network);
}

template <typename Real>
void Ahsar<Real>::end_epoch(Network<Real>& network, const EpochSignals& signals) {
  double energy = 0.0;
  for (const double h : state_) energy += h * h;
  energy /= static_cast<double>(std::max<std::size_t>(1, state_.size()));
  double progress = 0.0;
  if (have_previous_accuracy_) {
    progress = std::clamp((signals.progress_accuracy - previous_accuracy_) / params_.progress_delta,
                          -1.0, 1.0);
  }
  previous_accuracy_ = signals.progress_accuracy;
  have_previous_accuracy_ = true;
  global_ = ahsar_global_step(params_, global_, energy, progress);
  apply(network);
}

template <typename Real>
nlohmann::json Ahsar<Real>::save_state() const {
  return {{"state", state_},
          {"log_scale", log_scale_},
          {"global", global_},
          {"started", started_},
          {"have_previous", have_previous_accuracy_},
          {"previous_accuracy", previous_accuracy_}};
}

template <typename Real>
void Ahsar<Real>::load_state(const nlohmann::json& state, Network<Real>& network) {
  state_ = state.at("state").get<std::vector<double>>();
  log_scale_ = state.at("log_scale").get<std::vector<double>>();
  global_ = state.at("global").get<double>();
  started_ = state.at("started").get<bool>();
  have_previous_accuracy_ = state.at("have_previous").get<bool>();
  previous_accuracy_ = state.at("previous_accuracy").get<double>();
  state_.resize(this->layers().size(), 0.0);
  log_scale_.resize(this->layers().size(), 0.0);
  apply(network);
}

template <typename Real>
nlohmann::json Ahsar<Real>::describe() const {
  return {{"global_gain", global_}, {"state", state_}, {"log_scale", log_scale_}};
}

template class Ahsar<float>;
template class Ahsar<double>;

namespace {

AhsarParams read_ahsar(const KeyReader& s) {
  constexpr double kInf = KeyReader::kNoMax;
  AhsarParams p;
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
  return p;
}

}  // namespace

std::vector<RegulatorKind> ahsar_kinds() {
  return {regulator_kind<Ahsar>("ahsar", RegulatorChannel::threshold,
                                "layer-wise homeostatic threshold controller (seed 004)",
                                read_ahsar)};
}

}  // namespace homeostat
