#include "sweep/sweep_summary.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "metrics/confidence_interval.hpp"

namespace homeostat {
namespace {

std::string number_text(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

struct PointFigures {
  std::size_t ok = 0, diverged = 0, guard = 0, failed = 0, pending = 0;
  std::vector<IntervalEstimate> estimates;  // one per metric, over the ok runs
};

PointFigures point_figures(const SweepSpec& spec, const SweepPoint& point,
                           const std::map<std::string, nlohmann::json>& results) {
  PointFigures figures;
  std::vector<std::vector<double>> values(spec.metrics.size());
  for (const std::uint64_t seed : spec.seeds) {
    const auto found = results.find(sweep_run_name(point.index, seed));
    if (found == results.end()) {
      ++figures.pending;
      continue;
    }
    const std::string status = found->second.value("status", "failed");
    if (status == "diverged") ++figures.diverged;
    if (status == "guard") ++figures.guard;
    if (status == "failed") ++figures.failed;
    if (status != "ok") continue;
    ++figures.ok;
    const nlohmann::json& metrics = found->second.at("metrics");
    for (std::size_t m = 0; m < spec.metrics.size(); ++m) {
      const auto it = metrics.find(spec.metrics[m]);
      if (it != metrics.end() && it->is_number()) values[m].push_back(it->get<double>());
    }
  }
  for (const std::vector<double>& v : values) figures.estimates.push_back(estimate_mean(v));
  return figures;
}

std::string others_text(const PointFigures& f) {
  std::string text;
  const auto add = [&text](std::size_t count, const char* what) {
    if (count > 0) text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + what;
  };
  add(f.diverged, "diverged");
  add(f.guard, "stopped by the guard");
  add(f.failed, "failed");
  add(f.pending, "not run yet");
  return text.empty() ? "-" : text;
}

}  // namespace

SweepSummary summarize_sweep(const SweepSpec& spec,
                             const std::map<std::string, nlohmann::json>& results) {
  std::ostringstream md;
  std::ostringstream csv;
  std::string seeds;
  for (const std::uint64_t s : spec.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
  const std::vector<SweepPoint> points = sweep_points(spec);
  md << "# sweep " << spec.name << "\n\nBase config `" << spec.base.string() << "`, "
     << points.size() << " grid points x " << spec.seeds.size() << " seeds (" << seeds
     << "). Each figure is the mean ± the half-width of its 95% confidence interval (Student's "
        "t) over the point's runs that finished ok (n), from each run's last epoch record; "
        "± inf where n < 2.\n\n| point |";
  csv << "point";
  for (const SweepAxis& axis : spec.axes) {
    md << " " << axis.key << " |";
    csv << "," << csv_field(axis.key);
  }
  md << " n |";
  csv << ",n,diverged,guard,failed,pending";
  for (const std::string& metric : spec.metrics) {
    md << " " << metric << " |";
    csv << "," << metric << "_mean," << metric << "_ci95," << metric << "_sd," << metric << "_n";
  }
  md << " other runs |\n|---|";
  for (std::size_t i = 0; i < spec.axes.size() + spec.metrics.size() + 2; ++i) md << "---|";
  md << "\n";
  csv << "\n";
  for (const SweepPoint& point : points) {
    const PointFigures f = point_figures(spec, point, results);
    md << "| p" << point.index << " |";
    csv << "p" << point.index;
    for (std::size_t a = 0; a < spec.axes.size(); ++a) {
      const std::string& value = spec.axes[a].values[point.value_index[a]];
      md << " " << value << " |";
      csv << "," << csv_field(value);
    }
    md << " " << f.ok << " |";
    csv << "," << f.ok << "," << f.diverged << "," << f.guard << "," << f.failed << ","
        << f.pending;
    for (const IntervalEstimate& e : f.estimates) {
      md << " " << (e.count == 0 ? "-" : number_text(e.mean) + " ± " + number_text(e.half_width))
         << " |";
      csv << "," << number_text(e.mean) << "," << number_text(e.half_width) << ","
          << number_text(e.standard_deviation) << "," << e.count;
    }
    md << " " << others_text(f) << " |\n";
    csv << "\n";
  }
  return {md.str(), csv.str()};
}

}  // namespace homeostat
