#include "report/report.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "homeostat/version.hpp"

namespace homeostat {
namespace {

using nlohmann::json;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Okabe-Ito (colour-blind safe) without its yellow, which is unreadable on white; after seven
// layers the colours repeat with a dashed, then a dotted line.
constexpr std::array<const char*, 7> kPalette = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                                 "#CC79A7", "#56B4E9", "#4D4D4D"};
constexpr std::array<const char*, 3> kDashes = {"", "7 4", "2 3"};
constexpr const char* kTrainColour = "#0072B2";
constexpr const char* kBatchColour = "#56B4E9";
constexpr const char* kTestColour = "#D55E00";
constexpr const char* kValidationColour = "#009E73";
constexpr const char* kOtherColour = "#4D4D4D";

constexpr std::size_t kMaxRasterSpikes = 20000;
constexpr std::size_t kMaxMarkers = 60;  // series with more points are drawn without markers
constexpr std::size_t kMaxAlarmsListed = 200;
constexpr std::size_t kMaxLinePoints = 4000;  // longer batch-level traces are evenly thinned

// ---------------------------------------------------------------------------------------------
// Text

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  if (text == "-0" || text.rfind("-0.", 0) == 0) {
    if (text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);  // no "-0.00"
  }
  return text;
}

// A coordinate with one decimal, without a trailing ".0".
std::string coord(double value) {
  std::string text = fixed(value, 1);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

std::string significant(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

std::string with_thousands(std::size_t count) {
  std::string digits = std::to_string(count);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 1234567 -> "1.23M"; small values with three significant digits.
std::string compact(double value) {
  const double magnitude = std::abs(value);
  if (magnitude >= 1e9) return significant(value / 1e9, 3) + "G";
  if (magnitude >= 1e6) return significant(value / 1e6, 3) + "M";
  if (magnitude >= 1e4) return significant(value / 1e3, 3) + "k";
  return significant(value, 3);
}

std::string percent(double fraction) { return fixed(100.0 * fraction, 2) + "%"; }

std::string duration(double seconds) {
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long hours = total / 3600;
  const long long minutes = (total % 3600) / 60;
  const long long secs = total % 60;
  if (hours > 0) return std::to_string(hours) + " h " + std::to_string(minutes) + " min";
  if (minutes > 0) return std::to_string(minutes) + " min " + std::to_string(secs) + " s";
  return fixed(seconds, 1) + " s";
}

// Any JSON value as display text (strings without quotes).
std::string json_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return significant(value.get<double>(), 4);
  return value.dump();
}

// "lif2" < "lif10": runs of digits compare by value.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const bool digit_a = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool digit_b = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (digit_a && digit_b) {
      std::size_t end_a = i;
      std::size_t end_b = j;
      while (end_a < a.size() && std::isdigit(static_cast<unsigned char>(a[end_a]))) ++end_a;
      while (end_b < b.size() && std::isdigit(static_cast<unsigned char>(b[end_b]))) ++end_b;
      std::string_view run_a(a.data() + i, end_a - i);
      std::string_view run_b(b.data() + j, end_b - j);
      while (run_a.size() > 1 && run_a.front() == '0') run_a.remove_prefix(1);
      while (run_b.size() > 1 && run_b.front() == '0') run_b.remove_prefix(1);
      if (run_a.size() != run_b.size()) return run_a.size() < run_b.size();
      if (run_a != run_b) return run_a < run_b;
      i = end_a;
      j = end_b;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// ---------------------------------------------------------------------------------------------
// Reading records

std::optional<double> finite(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double v = value.get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> field(const json& record, const std::string& key) {
  const auto it = record.find(key);
  if (it == record.end()) return std::nullopt;
  return finite(*it);
}

const json* object_field(const json& record, const std::string& key) {
  const auto it = record.find(key);
  if (it == record.end() || !it->is_object()) return nullptr;
  return &*it;
}

std::optional<double> layer_field(const json& record, const std::string& key,
                                  const std::string& layer) {
  const json* values = object_field(record, key);
  if (!values) return std::nullopt;
  const auto it = values->find(layer);
  if (it == values->end()) return std::nullopt;
  return finite(*it);
}

struct Entry {
  double x;  // epochs: the epoch number; batches: fractional epochs (end of epoch e is x = e)
  const json* record;
};

struct Style {
  std::string colour;
  std::string dash;
};

struct Run {
  std::vector<Entry> epochs;   // by epoch; a repeated epoch (resumed run) keeps the later record
  std::vector<Entry> batches;  // by progress; a restart drops the records it supersedes
  std::vector<std::string> layers;
  std::map<std::string, Style> styles;
};

Run collect(const std::vector<json>& records, const json* raster) {
  Run run;
  std::map<double, const json*> epochs;
  std::size_t epoch_index = 0;
  for (const json& record : records) {
    if (!record.is_object()) continue;
    const auto kind = record.find("kind");
    const bool is_epoch =
        kind == record.end() || (kind->is_string() && kind->get<std::string>() == "epoch");
    const bool is_batch = kind != record.end() && kind->is_string() && *kind == "batch";
    if (is_epoch) {
      ++epoch_index;
      const double epoch = field(record, "epoch").value_or(static_cast<double>(epoch_index));
      epochs[epoch] = &record;
    } else if (is_batch) {
      const std::optional<double> progress = field(record, "progress");
      if (!progress) continue;
      while (!run.batches.empty() && run.batches.back().x >= *progress) run.batches.pop_back();
      run.batches.push_back({*progress, &record});
    }
  }
  for (const auto& [epoch, record] : epochs) run.epochs.push_back({epoch, record});

  std::vector<std::string> names;
  const auto add_keys = [&](const json& record, const char* key) {
    if (const json* values = object_field(record, key)) {
      for (const auto& item : values->items()) {
        if (std::find(names.begin(), names.end(), item.key()) == names.end())
          names.push_back(item.key());
      }
    }
  };
  for (const auto* entries : {&run.epochs, &run.batches}) {
    for (const Entry& entry : *entries) {
      for (const char* key :
           {"rate", "test_rate", "dead", "saturated", "threshold_scale", "bands"}) {
        add_keys(*entry.record, key);
      }
    }
  }
  // Network order where the raster gives it, natural order for the rest.
  std::vector<std::string> raster_order;
  if (raster && raster->is_object()) {
    const auto layers = raster->find("layers");
    if (layers != raster->end() && layers->is_array()) {
      for (const json& layer : *layers) {
        if (layer.is_object() && layer.contains("name") && layer["name"].is_string())
          raster_order.push_back(layer["name"].get<std::string>());
      }
    }
  }
  const auto rank = [&](const std::string& name) {
    const auto it = std::find(raster_order.begin(), raster_order.end(), name);
    return static_cast<std::size_t>(it - raster_order.begin());
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const std::size_t rank_a = rank(a);
    const std::size_t rank_b = rank(b);
    if (rank_a != rank_b) return rank_a < rank_b;
    return natural_less(a, b);
  });
  run.layers = names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    run.styles[names[i]] = {kPalette[i % kPalette.size()],
                            kDashes[(i / kPalette.size()) % kDashes.size()]};
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// Charts

struct Point {
  double x;
  double y;
};

struct Series {
  std::string name;
  std::string colour;
  std::string dash;  // stroke-dasharray; empty for a solid line
  double width = 2.0;
  double opacity = 1.0;
  bool markers = false;
  std::vector<Point> points;
};

struct Band {
  std::string name;
  std::string colour;
  double low;
  double high;
};

enum class Unit { kPlain, kPercent };

struct ChartSpec {
  std::string id;
  std::string title;
  std::string subtitle;
  std::string x_title = "epoch";
  std::string y_title;
  Unit unit = Unit::kPlain;
  bool from_zero = true;   // the y axis starts at 0 (or below, for negative data)
  double headroom = 1.05;  // data maximum is multiplied by this (from_zero axes)
  double min_span = 0.0;   // the y axis spans at least this much
  double lower_limit = -kInfinity;
  double upper_limit = kInfinity;
  std::optional<double> reference;  // a dashed horizontal line, e.g. scale 1.0
  double x_low = 0.0;
  double x_high = 1.0;
};

struct Axis {
  double low;
  double high;
  double step;
};

double nice_step(double span, double target_ticks) {
  const double raw = span / target_ticks;
  if (!(raw > 0.0) || !std::isfinite(raw)) return 1.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction < 1.5 ? 1.0 : fraction < 3.0 ? 2.0 : fraction < 7.0 ? 5.0 : 10.0;
  return nice * magnitude;
}

int decimals_for(double step) {
  if (!(step > 0.0)) return 0;
  return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
}

std::vector<double> ticks(const Axis& axis) {
  std::vector<double> values;
  const double tolerance = (axis.high - axis.low) * 1e-9;
  const double first = std::ceil((axis.low - tolerance) / axis.step);
  for (double k = first; k * axis.step <= axis.high + tolerance && values.size() < 100; k += 1.0) {
    const double value = k * axis.step;
    values.push_back(std::abs(value) < axis.step * 1e-9 ? 0.0 : value);
  }
  return values;
}

std::string tick_label(double value, const Axis& axis, Unit unit) {
  if (unit == Unit::kPercent) return fixed(100.0 * value, decimals_for(100.0 * axis.step));
  if (value == 0.0) return "0";
  const double magnitude = std::max(std::abs(axis.low), std::abs(axis.high));
  double scale = 1.0;
  const char* suffix = "";
  if (magnitude >= 1e9) {
    scale = 1e9;
    suffix = "G";
  } else if (magnitude >= 1e6) {
    scale = 1e6;
    suffix = "M";
  } else if (magnitude >= 1e4) {
    scale = 1e3;
    suffix = "k";
  }
  return fixed(value / scale, decimals_for(axis.step / scale)) + suffix;
}

std::string value_text(double value, Unit unit) {
  return unit == Unit::kPercent ? percent(value) : compact(value);
}

Axis y_axis(const ChartSpec& spec, double low, double high, double band_high) {
  if (spec.reference) {
    low = std::min(low, *spec.reference);
    high = std::max(high, *spec.reference);
  }
  if (spec.from_zero) {
    low = std::min(low, 0.0);
    high = std::max(high > 0.0 ? high * spec.headroom : high, band_high);
    if (high - low < spec.min_span) high = low + spec.min_span;
  } else {
    high = std::max(high, band_high);
    if (high - low < spec.min_span) {
      const double middle = 0.5 * (low + high);
      low = middle - 0.5 * spec.min_span;
      high = middle + 0.5 * spec.min_span;
    }
    const double pad = 0.06 * (high - low);
    low -= pad;
    high += pad;
  }
  if (!(high > low)) {
    const double pad = low != 0.0 ? 0.1 * std::abs(low) : 1.0;
    low -= pad;
    high += pad;
  }
  low = std::max(low, spec.lower_limit);
  high = std::min(high, spec.upper_limit);
  if (!(high > low)) high = low + 1.0;
  const double step = nice_step(high - low, 5.0);
  low = std::max(std::floor(low / step + 1e-9) * step, spec.lower_limit);
  high = std::min(std::ceil(high / step - 1e-9) * step, spec.upper_limit);
  return {low, high, step};
}

std::string legend_key(const std::string& name, const std::string& colour, const std::string& dash,
                       double width) {
  const char* style = dash.empty() ? "solid" : dash == kDashes[2] ? "dotted" : "dashed";
  return "<span class=\"key\"><span class=\"swatch\" style=\"border-top:" +
         fixed(std::max(width, 1.5), 1) + "px " + style + " " + colour + "\"></span>" +
         escape_html(name) + "</span>";
}

std::string card_open(const ChartSpec& spec) {
  std::string out = "<section class=\"card\" id=\"" + escape_html(spec.id) + "\">\n<h3>" +
                    escape_html(spec.title) + "</h3>\n";
  if (!spec.subtitle.empty()) out += "<p class=\"sub\">" + escape_html(spec.subtitle) + "</p>\n";
  return out;
}

std::string no_data_card(const ChartSpec& spec) {
  return card_open(spec) + "<div class=\"nodata\">no data</div>\n</section>\n";
}

// Where a line chart's plot lies in its SVG, and how values map into it.
struct LinePlot {
  static constexpr double kWidth = 640.0;
  static constexpr double kHeight = 300.0;
  static constexpr double kRight = 18.0;
  static constexpr double kTop = 12.0;
  static constexpr double kBottom = 46.0;

  Axis x;
  Axis y;
  double left;  // room for the longest tick label
  double plot_width = kWidth - left - kRight;
  double plot_height = kHeight - kTop - kBottom;

  [[nodiscard]] double sx(double v) const {
    return left + (v - x.low) / (x.high - x.low) * plot_width;
  }
  [[nodiscard]] double sy(double v) const {
    return kTop + (1.0 - (v - y.low) / (y.high - y.low)) * plot_height;
  }
  [[nodiscard]] std::string bottom() const { return coord(kTop + plot_height); }
};

std::string line_chart_legend(const std::vector<Series>& series, const std::vector<Band>& bands) {
  std::string out = "<div class=\"legend\">";
  for (const Series& s : series) {
    if (!s.points.empty()) out += legend_key(s.name, s.colour, s.dash, s.width);
  }
  if (!bands.empty())
    out += "<span class=\"key\"><span class=\"bandkey\"></span>target band</span>";
  return out + "</div>\n";
}

std::string line_chart_grid(const LinePlot& plot, const std::vector<double>& y_ticks,
                            const std::vector<double>& x_ticks) {
  std::string out = "<g class=\"grid\">";
  for (const double t : y_ticks) {
    out += "<line x1=\"" + coord(plot.left) + "\" x2=\"" + coord(plot.left + plot.plot_width) +
           "\" y1=\"" + coord(plot.sy(t)) + "\" y2=\"" + coord(plot.sy(t)) + "\"/>";
  }
  for (const double t : x_ticks) {
    out += "<line x1=\"" + coord(plot.sx(t)) + "\" x2=\"" + coord(plot.sx(t)) + "\" y1=\"" +
           coord(LinePlot::kTop) + "\" y2=\"" + plot.bottom() + "\"/>";
  }
  return out + "</g>\n";
}

// The shaded target bands with their edges, and the dashed reference line.
std::string line_chart_bands(const LinePlot& plot, const std::vector<Band>& bands,
                             const std::optional<double>& reference) {
  std::string out;
  for (const Band& band : bands) {
    const double band_low = std::clamp(band.low, plot.y.low, plot.y.high);
    const double band_top = std::clamp(band.high, plot.y.low, plot.y.high);
    const std::string name = escape_html(band.name);
    out += "<rect class=\"band\" data-series=\"" + name + "\" x=\"" + coord(plot.left) + "\" y=\"" +
           coord(plot.sy(band_top)) + "\" width=\"" + coord(plot.plot_width) + "\" height=\"" +
           coord(plot.sy(band_low) - plot.sy(band_top)) + "\" fill=\"" + band.colour +
           "\" fill-opacity=\"0.08\"><title>";
    out += name;
    out += " target band " + significant(band.low, 3) + " to " + significant(band.high, 3) +
           "</title></rect>";
    for (const double edge : {band_low, band_top}) {
      out += "<line class=\"band-edge\" x1=\"" + coord(plot.left) + "\" x2=\"" +
             coord(plot.left + plot.plot_width) + "\" y1=\"" + coord(plot.sy(edge)) + "\" y2=\"" +
             coord(plot.sy(edge)) + "\" stroke=\"" + band.colour + "\"/>";
    }
    out += "\n";
  }
  if (reference) {
    out += "<line class=\"reference\" x1=\"" + coord(plot.left) + "\" x2=\"" +
           coord(plot.left + plot.plot_width) + "\" y1=\"" + coord(plot.sy(*reference)) +
           "\" y2=\"" + coord(plot.sy(*reference)) + "\"/>\n";
  }
  return out;
}

std::string line_chart_axes(const LinePlot& plot, const ChartSpec& spec,
                            const std::vector<double>& y_ticks,
                            const std::vector<double>& x_ticks) {
  constexpr double kTop = LinePlot::kTop;
  const std::string bottom = plot.bottom();
  std::string out = "<g class=\"axes\"><line x1=\"" + coord(plot.left) + "\" x2=\"" +
                    coord(plot.left) + "\" y1=\"" + coord(kTop) + "\" y2=\"" + bottom +
                    "\"/><line x1=\"" + coord(plot.left) + "\" x2=\"" +
                    coord(plot.left + plot.plot_width) + "\" y1=\"" + bottom + "\" y2=\"" + bottom +
                    "\"/></g>\n";
  out += "<g class=\"ticks\">";
  for (const double t : y_ticks) {
    out += "<text x=\"" + coord(plot.left - 7.0) + "\" y=\"" + coord(plot.sy(t)) +
           "\" dy=\"0.32em\" text-anchor=\"end\">" + tick_label(t, plot.y, spec.unit) + "</text>";
  }
  for (const double t : x_ticks) {
    out += "<text x=\"" + coord(plot.sx(t)) + "\" y=\"" + coord(kTop + plot.plot_height + 17.0) +
           "\" text-anchor=\"middle\">" + fixed(t, 0) + "</text>";
  }
  out += "</g>\n";
  out += "<text class=\"axis-title\" x=\"" + coord(plot.left + 0.5 * plot.plot_width) + "\" y=\"" +
         coord(LinePlot::kHeight - 8.0) + "\" text-anchor=\"middle\">" + escape_html(spec.x_title) +
         "</text>\n";
  out += "<text class=\"axis-title\" transform=\"translate(14 " +
         coord(kTop + 0.5 * plot.plot_height) + ") rotate(-90)\" text-anchor=\"middle\">" +
         escape_html(spec.y_title) + "</text>\n";
  return out;
}

// One series: its polyline, and its markers (with each point's value as a tooltip).
std::string line_chart_series(const LinePlot& plot, const ChartSpec& spec, const Series& s) {
  const std::string name = escape_html(s.name);
  std::string out = "<polyline class=\"line\" data-series=\"" + name +
                    "\" fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"" +
                    fixed(s.width, 1) + "\"";
  if (s.opacity < 1.0) out += " stroke-opacity=\"" + fixed(s.opacity, 2) + "\"";
  if (!s.dash.empty()) out += " stroke-dasharray=\"" + s.dash + "\"";
  out += " points=\"";
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    if (i > 0) out += ' ';
    out += coord(plot.sx(s.points[i].x)) + "," + coord(plot.sy(s.points[i].y));
  }
  out += "\"/>\n";
  if (s.markers || s.points.size() == 1) {
    out += "<g class=\"markers\" fill=\"" + s.colour + "\">";
    for (const Point& p : s.points) {
      out += "<circle cx=\"" + coord(plot.sx(p.x)) + "\" cy=\"" + coord(plot.sy(p.y)) +
             "\" r=\"3.2\"><title>" + name + ", epoch " + significant(p.x, 4) + ": " +
             value_text(p.y, spec.unit) + "</title></circle>";
    }
    out += "</g>\n";
  }
  return out;
}

// A line chart card: one polyline per series over a shared epoch axis, optional shaded bands.
std::string line_chart(const ChartSpec& spec, const std::vector<Series>& series,
                       const std::vector<Band>& bands) {
  double low = kInfinity;
  double high = -kInfinity;
  for (const Series& s : series) {
    for (const Point& p : s.points) {
      low = std::min(low, p.y);
      high = std::max(high, p.y);
    }
  }
  if (low > high) return no_data_card(spec);
  double band_high = -kInfinity;
  for (const Band& band : bands) band_high = std::max(band_high, band.high);

  const Axis y = y_axis(spec, low, high, band_high);
  const Axis x{spec.x_low, spec.x_high,
               std::max(1.0, nice_step(spec.x_high - spec.x_low, 8.0))};  // whole epochs
  const std::vector<double> y_ticks = ticks(y);
  const std::vector<double> x_ticks = ticks(x);
  std::size_t label_chars = 1;
  for (const double t : y_ticks)
    label_chars = std::max(label_chars, tick_label(t, y, spec.unit).size());
  const LinePlot plot{x, y, 34.0 + 6.6 * static_cast<double>(label_chars)};

  std::string out = card_open(spec) + line_chart_legend(series, bands);
  out += "<svg class=\"chart\" viewBox=\"0 0 " + coord(LinePlot::kWidth) + " " +
         coord(LinePlot::kHeight) + "\" role=\"img\" aria-label=\"" + escape_html(spec.title) +
         "\">\n";
  out += line_chart_grid(plot, y_ticks, x_ticks);
  out += line_chart_bands(plot, bands, spec.reference);
  out += line_chart_axes(plot, spec, y_ticks, x_ticks);
  for (const Series& s : series) {
    if (!s.points.empty()) out += line_chart_series(plot, spec, s);
  }
  out += "</svg>\n</section>\n";
  return out;
}

std::vector<Point> scalar_points(const std::vector<Entry>& entries, const std::string& key) {
  std::vector<Point> points;
  for (const Entry& entry : entries) {
    if (const auto v = field(*entry.record, key)) points.push_back({entry.x, *v});
  }
  return points;
}

std::vector<Point> layer_points(const std::vector<Entry>& entries, const std::string& key,
                                const std::string& layer) {
  std::vector<Point> points;
  for (const Entry& entry : entries) {
    if (const auto v = layer_field(*entry.record, key, layer)) points.push_back({entry.x, *v});
  }
  return points;
}

bool any_has(const std::vector<Entry>& entries, const std::string& key) {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const Entry& e) { return e.record->contains(key); });
}

Series scalar_series(const std::string& name, const char* colour, const std::vector<Entry>& entries,
                     const std::string& key) {
  Series s{name, colour, "", 2.0, 1.0, false, scalar_points(entries, key)};
  s.markers = s.points.size() <= kMaxMarkers;
  return s;
}

// Every k-th point (and the last) when there are more than kMaxLinePoints.
std::vector<Point> thinned(std::vector<Point> points) {
  if (points.size() <= kMaxLinePoints) return points;
  std::vector<Point> kept;
  kept.reserve(kMaxLinePoints + 1);
  const std::size_t stride = (points.size() + kMaxLinePoints - 1) / kMaxLinePoints;
  for (std::size_t i = 0; i < points.size(); i += stride) kept.push_back(points[i]);
  if ((points.size() - 1) % stride != 0) kept.push_back(points.back());
  return kept;
}

Series batch_series(const std::string& name, const std::vector<Entry>& entries,
                    const std::string& key) {
  return {name, kBatchColour, "", 1.2, 0.75, false, thinned(scalar_points(entries, key))};
}

// One series per layer of the per-layer object `key` (epoch or batch level).
std::vector<Series> layer_series(const Run& run, const std::vector<Entry>& entries,
                                 const std::string& key, bool batch_level) {
  std::vector<Series> series;
  for (const std::string& layer : run.layers) {
    const Style& style = run.styles.at(layer);
    Series s{layer,
             style.colour,
             style.dash,
             batch_level ? 1.6 : 2.0,
             1.0,
             false,
             thinned(layer_points(entries, key, layer))};
    s.markers = !batch_level && s.points.size() <= kMaxMarkers;
    if (!s.points.empty()) series.push_back(std::move(s));
  }
  return series;
}

// The latest target band of every layer.
std::vector<Band> layer_bands(const Run& run) {
  std::vector<Band> bands;
  for (const std::string& layer : run.layers) {
    for (auto it = run.epochs.rbegin(); it != run.epochs.rend(); ++it) {
      const json* all = object_field(*it->record, "bands");
      if (!all || !all->contains(layer)) continue;
      const json& band = (*all)[layer];
      if (band.is_array() && band.size() == 2) {
        const auto low = finite(band[0]);
        const auto high = finite(band[1]);
        if (low && high && *low <= *high)
          bands.push_back({layer, run.styles.at(layer).colour, *low, *high});
      }
      break;
    }
  }
  return bands;
}

// ---------------------------------------------------------------------------------------------
// Raster

// A layer's spikes from raster.json: (step, neuron) pairs, floored; malformed entries counted.
struct RasterSpikes {
  std::vector<std::pair<double, double>> spikes;  // (t, i)
  std::size_t malformed = 0;
  double max_t = -1.0;
  double max_i = -1.0;
};

RasterSpikes raster_spikes(const json& layer) {
  RasterSpikes raster;
  if (!layer.contains("spikes") || !layer["spikes"].is_array()) return raster;
  for (const json& spike : layer["spikes"]) {
    const bool pair = spike.is_array() && spike.size() >= 2;
    const double t = pair ? finite(spike[0]).value_or(-1.0) : -1.0;
    const double i = pair ? finite(spike[1]).value_or(-1.0) : -1.0;
    if (t < 0.0 || i < 0.0) {
      ++raster.malformed;
      continue;
    }
    raster.spikes.emplace_back(std::floor(t), std::floor(i));
    raster.max_t = std::max(raster.max_t, std::floor(t));
    raster.max_i = std::max(raster.max_i, std::floor(i));
  }
  return raster;
}

// At most kMaxRasterSpikes of the spikes, evenly subsampled.
std::vector<std::pair<double, double>> shown_spikes(std::vector<std::pair<double, double>> spikes) {
  const std::size_t total = spikes.size();
  if (total <= kMaxRasterSpikes) return spikes;
  std::vector<std::pair<double, double>> shown;
  shown.reserve(kMaxRasterSpikes);
  for (std::size_t k = 0; k < kMaxRasterSpikes; ++k)
    shown.push_back(spikes[k * total / kMaxRasterSpikes]);
  return shown;
}

// Where a raster's plot lies in its SVG: one row per neuron (neuron 0 at the bottom), one bin
// per time step.
struct RasterPlot {
  static constexpr double kWidth = 640.0;
  static constexpr double kRight = 18.0;
  static constexpr double kTop = 8.0;
  static constexpr double kBottom = 42.0;

  Axis x;
  Axis y;
  double left;
  double plot_height;
  double height = kTop + plot_height + kBottom;
  double plot_width = kWidth - left - kRight;
  double bin = plot_width / x.high;   // x.high: the steps
  double row = plot_height / y.high;  // y.high: the neurons

  [[nodiscard]] double sx(double t) const { return left + t * bin; }
  [[nodiscard]] double sy(double i) const { return kTop + plot_height - i * row; }
};

RasterPlot raster_plot(double neurons, double steps) {
  const double plot_height = std::clamp(neurons * 6.0, 100.0, 340.0);
  const Axis y{0.0, neurons,
               std::max(1.0, nice_step(neurons, std::clamp(plot_height / 50.0, 2.0, 6.0)))};
  const Axis x{0.0, steps, std::max(1.0, nice_step(steps, 8.0))};
  std::size_t label_chars = 1;
  for (const double t : ticks(y)) label_chars = std::max(label_chars, fixed(t, 0).size());
  return RasterPlot{x, y, 34.0 + 6.6 * static_cast<double>(label_chars), plot_height};
}

std::string raster_caption(const json& layer, const std::string& escaped_name,
                           const std::string& colour, const RasterSpikes& raster, std::size_t total,
                           double neurons, double steps) {
  std::string out =
      "<figcaption><span class=\"swatch\" style=\"border-top:3px "
      "solid " +
      colour + "\"></span><b>" + escaped_name + "</b> · " +
      with_thousands(static_cast<std::size_t>(neurons)) + " neurons · " + with_thousands(total) +
      " spikes";
  if (total > 0) {
    out += " (" + significant(static_cast<double>(total) / (neurons * steps), 2) +
           " per neuron per step)";
  }
  if (total > kMaxRasterSpikes) {
    out += "<br><span class=\"capped\">showing " + with_thousands(kMaxRasterSpikes) + " of " +
           with_thousands(total) + " spikes, evenly subsampled</span>";
  }
  if (layer.contains("truncated") && layer["truncated"] == true) {
    out +=
        "<br><span class=\"capped\">raster.json holds only the first events of this "
        "layer</span>";
  }
  if (raster.malformed > 0) {
    out += "<br><span class=\"capped\">" + with_thousands(raster.malformed) +
           " malformed spike entries skipped</span>";
  }
  return out + "</figcaption>\n";
}

// One horizontal dash per spike, spanning most of its time bin and one neuron row (at least 1).
std::string raster_dashes(const RasterPlot& plot, const std::string& escaped_name,
                          const std::string& colour,
                          const std::vector<std::pair<double, double>>& shown) {
  const double dash = std::max(1.0, 0.8 * plot.bin);
  std::string out = "<path class=\"spikes\" data-layer=\"" + escaped_name + "\" data-count=\"" +
                    std::to_string(shown.size()) + "\" stroke=\"" + colour + "\" stroke-width=\"" +
                    fixed(std::max(plot.row * 0.9, 1.0), 2) + "\" d=\"";
  for (const auto& [t, i] : shown) {
    out += 'M';  // (not "M" + std::string: GCC 12 warns of an impossible overlap, -Wrestrict)
    out += coord(plot.sx(t) + 0.5 * (plot.bin - dash)) + " " + coord(plot.sy(i + 0.5)) + "h" +
           coord(dash);
  }
  return out + "\"/>\n";
}

std::string raster_axes(const RasterPlot& plot) {
  constexpr double kTop = RasterPlot::kTop;
  const std::string bottom = coord(kTop + plot.plot_height);
  std::string out = "<g class=\"axes\"><line x1=\"" + coord(plot.left) + "\" x2=\"" +
                    coord(plot.left) + "\" y1=\"" + coord(kTop) + "\" y2=\"" + bottom +
                    "\"/><line x1=\"" + coord(plot.left) + "\" x2=\"" +
                    coord(plot.left + plot.plot_width) + "\" y1=\"" + bottom + "\" y2=\"" + bottom +
                    "\"/></g>\n";
  out += "<g class=\"ticks\">";
  for (const double t : ticks(plot.y)) {
    out += "<text x=\"" + coord(plot.left - 7.0) + "\" y=\"" + coord(plot.sy(t)) +
           "\" dy=\"0.32em\" text-anchor=\"end\">" + fixed(t, 0) + "</text>";
  }
  for (const double t : ticks(plot.x)) {
    out += "<text x=\"" + coord(plot.sx(t)) + "\" y=\"" + coord(kTop + plot.plot_height + 17.0) +
           "\" text-anchor=\"middle\">" + fixed(t, 0) + "</text>";
  }
  out += "</g>\n";
  out += "<text class=\"axis-title\" x=\"" + coord(plot.left + 0.5 * plot.plot_width) + "\" y=\"" +
         coord(plot.height - 6.0) + "\" text-anchor=\"middle\">time step</text>\n";
  out += "<text class=\"axis-title\" transform=\"translate(14 " +
         coord(kTop + 0.5 * plot.plot_height) +
         ") rotate(-90)\" text-anchor=\"middle\">neuron</text>\n";
  return out;
}

std::string raster_panel(const json& layer, const std::string& colour, double fallback_steps) {
  const std::string name =
      layer.contains("name") ? json_text(layer["name"]) : std::string("(unnamed layer)");
  RasterSpikes raster = raster_spikes(layer);
  double neurons = layer.contains("neurons") ? finite(layer["neurons"]).value_or(0.0) : 0.0;
  neurons = std::max({std::floor(neurons), raster.max_i + 1.0, 1.0});
  const double steps = std::max({std::floor(fallback_steps), raster.max_t + 1.0, 1.0});
  const std::size_t total = raster.spikes.size();
  const std::vector<std::pair<double, double>> shown = shown_spikes(std::move(raster.spikes));
  const RasterPlot plot = raster_plot(neurons, steps);
  const std::string escaped = escape_html(name);
  std::string out = "<figure class=\"raster\">\n" +
                    raster_caption(layer, escaped, colour, raster, total, neurons, steps);
  out += "<svg class=\"chart\" viewBox=\"0 0 " + coord(RasterPlot::kWidth) + " " +
         coord(plot.height) + "\" role=\"img\" aria-label=\"spike raster of " + escaped + "\">\n";
  out += "<rect class=\"plotbg\" x=\"" + coord(plot.left) + "\" y=\"" + coord(RasterPlot::kTop) +
         "\" width=\"" + coord(plot.plot_width) + "\" height=\"" + coord(plot.plot_height) +
         "\"/>\n";
  out += "<g class=\"grid\">";
  for (const double t : ticks(plot.x)) {
    out += "<line x1=\"" + coord(plot.sx(t)) + "\" x2=\"" + coord(plot.sx(t)) + "\" y1=\"" +
           coord(RasterPlot::kTop) + "\" y2=\"" + coord(RasterPlot::kTop + plot.plot_height) +
           "\"/>";
  }
  out += "</g>\n";
  out += raster_dashes(plot, escaped, colour, shown);
  out += raster_axes(plot);
  out += "</svg>\n</figure>\n";
  return out;
}

std::string raster_section(const json* raster, const std::string& error, const Run& run) {
  if (!raster && error.empty()) return "";
  std::string out = "<section class=\"card wide\" id=\"chart-raster\">\n<h3>Spike raster</h3>\n";
  if (!error.empty()) {
    return out + "<div class=\"nodata\">" + escape_html(error) + "</div>\n</section>\n";
  }
  if (!raster->is_object() || !raster->contains("layers") || !(*raster)["layers"].is_array() ||
      (*raster)["layers"].empty()) {
    return out + "<div class=\"nodata\">no data</div>\n</section>\n";
  }
  std::string subtitle = "One test sample";
  if (raster->contains("sample")) subtitle += " (#" + json_text((*raster)["sample"]) + ")";
  if (raster->contains("label")) subtitle += " · label " + json_text((*raster)["label"]);
  if (raster->contains("prediction")) {
    subtitle += " · prediction " + json_text((*raster)["prediction"]);
    if (raster->contains("label"))
      subtitle += (*raster)["label"] == (*raster)["prediction"] ? " (correct)" : " (wrong)";
  }
  const double steps =
      raster->contains("time_steps") ? finite((*raster)["time_steps"]).value_or(0.0) : 0.0;
  out += "<p class=\"sub\">" + escape_html(subtitle) + "</p>\n<div class=\"rasters\">\n";
  for (const json& layer : (*raster)["layers"]) {
    if (!layer.is_object()) continue;
    std::string colour = kOtherColour;
    if (layer.contains("name") && layer["name"].is_string()) {
      const auto it = run.styles.find(layer["name"].get<std::string>());
      if (it != run.styles.end()) colour = it->second.colour;
    }
    out += raster_panel(layer, colour, steps);
  }
  out += "</div>\n</section>\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Page

constexpr const char* kStyle = R"CSS(
:root{--fg:#1f2933;--muted:#6b7280;--line:#e4e7eb;--bg:#f4f5f7;--card:#fff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","Liberation Sans",Arial,sans-serif;-webkit-font-smoothing:antialiased}
.wrap{max-width:1360px;margin:0 auto;padding:0 28px}
header{background:var(--card);border-bottom:1px solid var(--line);padding:26px 0 22px;margin-bottom:22px}
.eyebrow{font-size:12px;letter-spacing:.09em;text-transform:uppercase;color:var(--muted);font-weight:600}
h1{font-size:28px;line-height:1.2;margin:4px 0 0;font-weight:650;letter-spacing:-.01em;word-break:break-word}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin-top:18px}
.stat{background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:9px 16px 10px;min-width:136px}
.stat .k{font-size:12px;color:var(--muted)}
.stat .v{font-size:21px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.3}
.stat .n{font-size:12px;color:var(--muted)}
.stat.primary{background:#eef6fb;border-color:#cfe3f1}
.stat.primary .v{font-size:30px;color:var(--accent)}
.stat.warn{background:#fff8eb;border-color:#f7d79b}
.stat.warn .v{color:#a15c00}
section.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 20px 12px;min-width:0}
h2{font-size:17px;margin:0 0 10px;font-weight:650}
h3{font-size:15px;margin:0;font-weight:650}
.sub{margin:2px 0 0;color:var(--muted);font-size:12.5px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(540px,100%),1fr));gap:18px;margin:18px 0}
.wide{margin:18px 0}
.tablewrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13.5px}
th,td{padding:7px 14px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;padding-left:4px}
th{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600}
tbody tr:last-child td{border-bottom:none}
td.bad{color:#b45309;font-weight:650}
td.dim{color:#9aa1ab}
.swatch{display:inline-block;width:20px;height:0;vertical-align:middle;margin-right:7px}
.bandkey{display:inline-block;width:20px;height:10px;vertical-align:middle;margin-right:7px;background:rgba(80,90,100,.14);border-top:1px solid rgba(80,90,100,.5);border-bottom:1px solid rgba(80,90,100,.5)}
.legend{display:flex;flex-wrap:wrap;gap:3px 16px;font-size:12.5px;color:#374151;margin:8px 0 2px;min-height:19px}
.key{white-space:nowrap}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart text{font-family:inherit}
.ticks text{font-size:11px;fill:#6b7280;font-variant-numeric:tabular-nums}
.axis-title{font-size:12px;fill:#4b5563}
.grid line{stroke:#eceef1;stroke-width:1}
.axes line{stroke:#9aa1ab;stroke-width:1}
.band-edge{stroke-width:1;stroke-opacity:.55;stroke-dasharray:4 3}
.reference{stroke:#6b7280;stroke-width:1;stroke-dasharray:5 4}
polyline{stroke-linejoin:round;stroke-linecap:round}
.markers circle{stroke:#fff;stroke-width:1.2}
.plotbg{fill:#fbfbfc}
.nodata{height:200px;margin-top:10px;display:flex;align-items:center;justify-content:center;color:var(--muted);font-style:italic;border:1px dashed var(--line);border-radius:8px;background:#fafbfc}
.nodata.short{height:70px}
.rasters{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(540px,100%),1fr));gap:10px 28px;margin-top:12px}
figure.raster{margin:0}
figcaption{font-size:12.5px;color:#374151;margin-bottom:4px}
.capped{color:#a15c00}
.alarms{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}
.alarms li{background:#fff8eb;border:1px solid #f7d79b;border-left:4px solid #e69f00;border-radius:6px;padding:7px 12px;font-size:13px}
.alarms .tag{display:inline-block;background:#a15c00;color:#fff;border-radius:4px;padding:0 6px;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;margin-right:6px}
.alarms .where{font-weight:650}
.alarms .meta{color:#7c5a1c;font-variant-numeric:tabular-nums}
section.warnbox{border-color:#f7d79b}
footer{color:var(--muted);font-size:12px;padding:10px 0 30px}
)CSS";

std::string stat(const std::string& key, const std::string& value, const std::string& note,
                 const char* extra_class = "") {
  std::string out = "<div class=\"stat";
  if (*extra_class) out += std::string(" ") + extra_class;
  out += "\"><div class=\"k\">" + escape_html(key) + "</div><div class=\"v\">" +
         escape_html(value) + "</div>";
  if (!note.empty()) out += "<div class=\"n\">" + escape_html(note) + "</div>";
  return out + "</div>";
}

struct Alarm {
  double epoch;
  const json* alarm;
};

std::vector<Alarm> collect_alarms(const Run& run) {
  std::vector<Alarm> alarms;
  for (const Entry& entry : run.epochs) {
    const auto it = entry.record->find("alarms");
    if (it == entry.record->end() || !it->is_array()) continue;
    for (const json& alarm : *it) alarms.push_back({entry.x, &alarm});
  }
  return alarms;
}

std::string alarm_layer(const json& alarm) {
  return alarm.is_object() && alarm.contains("layer") ? json_text(alarm["layer"]) : "";
}

std::string header(const Run& run, const std::string& title, std::size_t alarm_count) {
  std::string out =
      "<header><div class=\"wrap\">\n<div class=\"eyebrow\">homeostat training "
      "report</div>\n<h1>" +
      escape_html(title) + "</h1>\n<div class=\"stats\">";
  const json* last = run.epochs.empty() ? nullptr : run.epochs.back().record;
  const auto final_of = [&](const char* key) {
    return last ? field(*last, key) : std::optional<double>();
  };
  const auto test = final_of("test_accuracy");
  out +=
      stat("final test accuracy", test ? percent(*test) : "–",
           last ? "epoch " + significant(run.epochs.back().x, 6) : "no epoch finished", "primary");
  double best = -kInfinity;
  double best_epoch = 0.0;
  for (const Entry& e : run.epochs) {
    if (const auto v = field(*e.record, "test_accuracy"); v && *v > best) {
      best = *v;
      best_epoch = e.x;
    }
  }
  if (std::isfinite(best) && run.epochs.size() > 1)
    out += stat("best test accuracy", percent(best), "epoch " + significant(best_epoch, 6));
  if (const auto v = final_of("validation_accuracy"))
    out += stat("validation accuracy", percent(*v), "");
  if (const auto v = final_of("train_accuracy")) out += stat("train accuracy", percent(*v), "");
  const auto train_loss = final_of("train_loss");
  const auto test_loss = final_of("test_loss");
  if (train_loss || test_loss) {
    out += stat("final loss", train_loss ? significant(*train_loss, 4) : "–",
                test_loss ? "test " + significant(*test_loss, 4) : "");
  }
  double seconds = 0.0;
  for (const Entry& e : run.epochs) seconds += field(*e.record, "seconds").value_or(0.0);
  out += stat("epochs", std::to_string(run.epochs.size()),
              seconds > 0.0 ? duration(seconds) + " training" : "");
  if (const auto v = final_of("synops")) out += stat("SynOps / sample", compact(*v), "");
  out += stat("alarms", std::to_string(alarm_count), alarm_count ? "see below" : "none raised",
              alarm_count ? "warn" : "");
  out += "</div>\n</div></header>\n";
  return out;
}

std::string summary_table(const Run& run, const std::vector<Alarm>& alarms) {
  std::string out =
      "<section class=\"card wide\" id=\"summary\">\n<h2>Layers</h2>\n"
      "<p class=\"sub\">Values at the end of training: firing rate in spikes per neuron per time "
      "step, dead and saturated as fractions of the layer's neurons.</p>\n";
  if (run.layers.empty()) return out + "<div class=\"nodata short\">no data</div>\n</section>\n";
  const auto latest = [&](const std::string& key, const std::string& layer) {
    for (const auto* entries : {&run.epochs, &run.batches}) {
      for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
        if (const auto v = layer_field(*it->record, key, layer)) return v;
      }
    }
    return std::optional<double>();
  };
  const std::vector<Band> bands = layer_bands(run);
  out +=
      "<div class=\"tablewrap\"><table>\n<thead><tr><th>Layer</th><th>Rate</th><th>Test "
      "rate</th><th>Target band</th><th>Dead</th><th>Saturated</th><th>Threshold "
      "scale</th><th>Alarms</th></tr></thead>\n<tbody>\n";
  for (const std::string& layer : run.layers) {
    const Style& style = run.styles.at(layer);
    const auto band =
        std::find_if(bands.begin(), bands.end(), [&](const Band& b) { return b.name == layer; });
    const auto cell = [](const std::optional<double>& v, bool bad, bool as_percent) {
      if (!v) return std::string("<td class=\"dim\">–</td>");
      return std::string(bad ? "<td class=\"bad\">" : "<td>") +
             (as_percent ? percent(*v) : significant(*v, 3)) + "</td>";
    };
    const auto rate = latest("rate", layer);
    const bool out_of_band =
        rate && band != bands.end() && (*rate < band->low || *rate > band->high);
    const auto dead = latest("dead", layer);
    const auto saturated = latest("saturated", layer);
    const auto count = std::count_if(alarms.begin(), alarms.end(), [&](const Alarm& a) {
      return alarm_layer(*a.alarm) == layer;
    });
    out += "<tr><td><span class=\"swatch\" style=\"border-top:3px " +
           std::string(style.dash.empty()         ? "solid"
                       : style.dash == kDashes[2] ? "dotted"
                                                  : "dashed") +
           " " + style.colour + "\"></span>" + escape_html(layer) + "</td>";
    out += cell(rate, out_of_band, false);
    out += cell(latest("test_rate", layer), false, false);
    out += band != bands.end()
               ? "<td>" + significant(band->low, 3) + " – " + significant(band->high, 3) + "</td>"
               : "<td class=\"dim\">–</td>";
    out += cell(dead, dead && *dead >= 0.1, true);
    out += cell(saturated, saturated && *saturated >= 0.1, true);
    out += cell(latest("threshold_scale", layer), false, false);
    out += count > 0 ? "<td class=\"bad\">" + std::to_string(count) + "</td>"
                     : "<td class=\"dim\">0</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
  return out;
}

std::string alarms_section(const std::vector<Alarm>& alarms) {
  if (alarms.empty()) return "";
  std::string out = "<section class=\"card wide warnbox\" id=\"alarms\">\n<h2>Alarms (" +
                    std::to_string(alarms.size()) + ")</h2>\n<ul class=\"alarms\">\n";
  std::size_t listed = 0;
  for (const Alarm& entry : alarms) {
    if (listed++ == kMaxAlarmsListed) break;
    const json& alarm = *entry.alarm;
    const auto text = [&](const char* key) {
      return alarm.is_object() && alarm.contains(key) ? json_text(alarm[key]) : std::string();
    };
    const std::string kind = text("kind");
    const std::string layer = text("layer");
    out += "<li><span class=\"tag\">" + escape_html(kind.empty() ? "alarm" : kind) + "</span>";
    if (!layer.empty()) out += "<span class=\"where\">" + escape_html(layer) + "</span> ";
    out += "<span class=\"meta\">epoch " + significant(entry.epoch, 6);
    if (alarm.is_object() && alarm.contains("value")) {
      const auto value = finite(alarm["value"]);
      out +=
          " · value " + (value ? significant(*value, 3) : escape_html(json_text(alarm["value"])));
    }
    if (alarm.is_object() && alarm.contains("limit")) {
      const auto limit = finite(alarm["limit"]);
      if (limit) out += " · limit " + significant(*limit, 3);
    }
    out += "</span>";
    const std::string message = alarm.is_object() ? text("message") : json_text(alarm);
    if (!message.empty()) out += " — " + escape_html(message);
    out += "</li>\n";
  }
  out += "</ul>\n";
  if (alarms.size() > kMaxAlarmsListed) {
    out += "<p class=\"sub\">" + std::to_string(alarms.size() - kMaxAlarmsListed) +
           " more not listed; see metrics.jsonl.</p>\n";
  }
  return out + "</section>\n";
}

// The epoch axis shared by every chart: all epoch and batch records (from 0 with batches), with
// room for end markers and a single epoch.
std::pair<double, double> epoch_range(const Run& run) {
  const bool have_batches = !run.batches.empty();
  double x_low = kInfinity;
  double x_high = -kInfinity;
  for (const auto* entries : {&run.epochs, &run.batches}) {
    for (const Entry& e : *entries) {
      x_low = std::min(x_low, e.x);
      x_high = std::max(x_high, e.x);
    }
  }
  if (have_batches) x_low = std::min(x_low, 0.0);
  if (x_low > x_high) {
    x_low = 0.0;
    x_high = 1.0;
  }
  if (!have_batches || x_high - x_low < 1.0) {
    x_low = std::max(have_batches ? 0.0 : -kInfinity, x_low - 0.5);
    x_high += 0.5;
  }
  if (x_high - x_low < 1.0) x_high = x_low + 1.0;
  return {x_low, x_high};
}

// Makes the chart specs of one report, on its shared epoch axis.
struct ChartSpecs {
  double x_low;
  double x_high;

  [[nodiscard]] ChartSpec operator()(std::string id, std::string title, std::string subtitle,
                                     std::string y_title) const {
    ChartSpec s;
    s.id = std::move(id);
    s.title = std::move(title);
    s.subtitle = std::move(subtitle);
    s.y_title = std::move(y_title);
    s.x_low = x_low;
    s.x_high = x_high;
    return s;
  }
};

std::string batch_note(const Run& run) {
  return run.batches.empty() ? "" : "; thin line: training batches";
}

std::string loss_chart(const Run& run, const ChartSpecs& spec) {
  ChartSpec s = spec("chart-loss", "Loss", "Per epoch" + batch_note(run), "loss");
  std::vector<Series> series;
  if (!run.batches.empty()) series.push_back(batch_series("train (batch)", run.batches, "loss"));
  series.push_back(scalar_series("train", kTrainColour, run.epochs, "train_loss"));
  series.push_back(scalar_series("test", kTestColour, run.epochs, "test_loss"));
  series.push_back(scalar_series("validation", kValidationColour, run.epochs, "validation_loss"));
  return line_chart(s, series, {});
}

std::string accuracy_chart(const Run& run, const ChartSpecs& spec) {
  ChartSpec s = spec("chart-accuracy", "Accuracy", "Per epoch" + batch_note(run), "accuracy (%)");
  s.unit = Unit::kPercent;
  s.from_zero = false;
  s.min_span = 0.02;
  s.lower_limit = 0.0;
  s.upper_limit = 1.0;
  std::vector<Series> series;
  if (!run.batches.empty())
    series.push_back(batch_series("train (batch)", run.batches, "accuracy"));
  series.push_back(scalar_series("train", kTrainColour, run.epochs, "train_accuracy"));
  series.push_back(scalar_series("test", kTestColour, run.epochs, "test_accuracy"));
  series.push_back(
      scalar_series("validation", kValidationColour, run.epochs, "validation_accuracy"));
  return line_chart(s, series, {});
}

std::string rate_chart(const Run& run, const ChartSpecs& spec) {
  const bool batch_rates = any_has(run.batches, "rate");
  const std::vector<Band> bands = layer_bands(run);
  ChartSpec s =
      spec("chart-rate", "Firing rate",
           std::string("Training rate per layer, ") + (batch_rates ? "per batch" : "per epoch") +
               (bands.empty() ? "" : "; shaded: target band"),
           "spikes / neuron / step");
  s.headroom = 1.1;
  s.min_span = 1e-3;
  return line_chart(
      s, layer_series(run, batch_rates ? run.batches : run.epochs, "rate", batch_rates), bands);
}

// Dead and saturated neurons per layer.
std::string neuron_fraction_charts(const Run& run, const ChartSpecs& spec) {
  std::string out;
  for (const auto& [key, title] : {std::pair<const char*, const char*>{"dead", "Dead neurons"},
                                   {"saturated", "Saturated neurons"}}) {
    ChartSpec s =
        spec(std::string("chart-") + key, title,
             std::string("Fraction of each layer's neurons ") +
                 (std::string(key) == "dead" ? "that never fired" : "firing at nearly every step") +
                 ", per epoch",
             "neurons (%)");
    s.unit = Unit::kPercent;
    s.min_span = 0.01;
    s.upper_limit = 1.0;
    out += line_chart(s, layer_series(run, run.epochs, key, false), {});
  }
  return out;
}

// Only when a regulator scales the thresholds.
std::string threshold_chart(const Run& run, const ChartSpecs& spec) {
  const bool batch_scales = any_has(run.batches, "threshold_scale");
  if (!batch_scales && !any_has(run.epochs, "threshold_scale")) return "";
  ChartSpec s = spec("chart-threshold", "Threshold scale",
                     std::string("Homeostatic threshold multiplier per layer, ") +
                         (batch_scales ? "per batch" : "per epoch") + "; dashed: 1.0",
                     "scale");
  s.from_zero = false;
  s.min_span = 0.05;
  s.reference = 1.0;
  return line_chart(
      s,
      layer_series(run, batch_scales ? run.batches : run.epochs, "threshold_scale", batch_scales),
      {});
}

std::string synops_charts(const Run& run, const ChartSpecs& spec) {
  std::string out;
  if (any_has(run.epochs, "synops")) {
    ChartSpec s = spec("chart-synops", "Synaptic operations", "SynOps per test sample, per epoch",
                       "SynOps / sample");
    out += line_chart(s, {scalar_series("SynOps", kTrainColour, run.epochs, "synops")}, {});
  }
  if (any_has(run.epochs, "synaptic_efficiency")) {
    ChartSpec s = spec("chart-efficiency", "Synaptic efficiency", "Per epoch", "efficiency");
    out += line_chart(
        s, {scalar_series("efficiency", kValidationColour, run.epochs, "synaptic_efficiency")}, {});
  }
  return out;
}

std::string charts(const Run& run) {
  const auto [x_low, x_high] = epoch_range(run);
  const ChartSpecs spec{x_low, x_high};
  return "<div class=\"grid\">\n" + loss_chart(run, spec) + accuracy_chart(run, spec) +
         rate_chart(run, spec) + neuron_fraction_charts(run, spec) + threshold_chart(run, spec) +
         synops_charts(run, spec) + "</div>\n";
}

std::string render(const std::vector<json>& records, const json* raster, const std::string& title,
                   const std::string& raster_error) {
  const Run run = collect(records, raster);
  const std::vector<Alarm> alarms = collect_alarms(run);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta "
      "name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      escape_html(title) + " · homeostat report</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n";
  out += header(run, title, alarms.size());
  out += "<main class=\"wrap\">\n";
  out += summary_table(run, alarms);
  out += alarms_section(alarms);
  out += charts(run);
  out += raster_section(raster, raster_error, run);
  out += "</main>\n<footer class=\"wrap\">Generated by homeostat " HOMEOSTAT_VERSION
         " from metrics.jsonl";
  if (raster) out += " and raster.json";
  out += ".</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace

std::string render_report(const std::vector<nlohmann::json>& records, const nlohmann::json* raster,
                          const std::string& title) {
  return render(records, raster, title, "");
}

void write_report(const std::filesystem::path& run_directory) {
  const std::filesystem::path metrics_path = run_directory / "metrics.jsonl";
  std::ifstream metrics(metrics_path);
  if (!std::filesystem::is_regular_file(metrics_path) || !metrics) {
    throw DataError("cannot read metrics file '" + metrics_path.string() + "'");
  }
  std::vector<json> records;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(metrics, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where =
        "metrics file '" + metrics_path.string() + "' line " + std::to_string(line_number);
    json record;
    try {
      record = json::parse(line);
    } catch (const json::parse_error& e) {
      throw DataError(where + ": malformed JSON (" + e.what() + ")");
    }
    if (!record.is_object()) throw DataError(where + ": expected a JSON object");
    records.push_back(std::move(record));
  }
  if (metrics.bad()) throw DataError("error reading metrics file '" + metrics_path.string() + "'");

  json raster;
  bool have_raster = false;
  std::string raster_error;
  const std::filesystem::path raster_path = run_directory / "raster.json";
  if (std::filesystem::exists(raster_path)) {
    std::ifstream in(raster_path);
    try {
      if (!in) throw std::runtime_error("cannot open file");
      raster = json::parse(in);
      have_raster = true;
    } catch (const std::exception& e) {
      raster_error = "raster.json could not be read: " + std::string(e.what());
    }
  }

  std::filesystem::path name_source = std::filesystem::absolute(run_directory).lexically_normal();
  if (name_source.filename().empty()) name_source = name_source.parent_path();
  std::string title = name_source.filename().string();
  if (title.empty()) title = "run";

  const std::string page = render(records, have_raster ? &raster : nullptr, title, raster_error);
  // A temporary of this process's own, renamed into place: a training run and `homeostat
  // report` writing one report at once do not collide (common/atomic_file.hpp).
  write_file_atomically(run_directory / "report.html", page);
}

}  // namespace homeostat
