// Tests for the HTML training report: per-layer rate polylines and target bands, raster spike
// marks (and the cap), skipped non-finite values, "no data" and optional charts, HTML escaping,
// no external resources, and write_report's files and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "report/report.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

using nlohmann::json;

json epoch_record(int epoch, double rate1, double rate2) {
  return {{"kind", "epoch"},
          {"epoch", epoch},
          {"train_loss", 1.0 / epoch},
          {"train_accuracy", 0.8 + 0.01 * epoch},
          {"test_loss", 1.1 / epoch},
          {"test_accuracy", 0.78 + 0.01 * epoch},
          {"seconds", 12.5},
          {"lr", 1e-3},
          {"rate", {{"lif1", rate1}, {"lif2", rate2}}},
          {"dead", {{"lif1", 0.01}, {"lif2", 0.0}}},
          {"saturated", {{"lif1", 0.0}, {"lif2", 0.02}}},
          {"test_rate", {{"lif1", rate1}, {"lif2", rate2}}}};
}

json batch_record(int epoch, int batch, double progress, double rate1, double rate2) {
  return {{"kind", "batch"},
          {"epoch", epoch},
          {"batch", batch},
          {"progress", progress},
          {"loss", 1.0 / progress},
          {"accuracy", 0.5},
          {"rate", {{"lif1", rate1}, {"lif2", rate2}}}};
}

// The part of `html` from the element with this id to the end of its section.
std::string section(const std::string& html, const std::string& id) {
  const std::size_t start = html.find("id=\"" + id + "\"");
  if (start == std::string::npos) return "";
  const std::size_t end = html.find("</section>", start);
  return html.substr(start, end - start);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// Number of points of the polyline for `series` in `html`; -1 if there is none.
int polyline_points(const std::string& html, const std::string& series) {
  const std::string head = "<polyline class=\"line\" data-series=\"" + series + "\"";
  const std::size_t start = html.find(head);
  if (start == std::string::npos) return -1;
  const std::size_t points = html.find("points=\"", start) + 8;
  const std::string list = html.substr(points, html.find('"', points) - points);
  if (list.empty()) return 0;
  return static_cast<int>(count(list, " ")) + 1;
}

std::vector<json> sample_records() {
  std::vector<json> records;
  records.push_back({{"kind", "config"}, {"name", "ignored"}});
  records.push_back(batch_record(1, 10, 0.5, 0.10, 0.20));
  records.push_back(batch_record(1, 20, 1.0, 0.12, 0.22));
  records.push_back(epoch_record(1, 0.11, 0.21));
  records.push_back(batch_record(2, 10, 1.5, 0.13, 0.23));
  records.push_back(batch_record(2, 20, 2.0, 0.14, 0.24));
  records.push_back(batch_record(3, 10, 2.5, 0.15, 0.25));
  json last = epoch_record(2, 0.14, 0.24);
  last["bands"] = {{"lif1", {0.02, 0.2}}, {"lif2", {0.05, 0.3}}};
  records.push_back(last);
  return records;
}

TEST(ReportRender, RatePolylinePerLayerHasOnePointPerBatchRecord) {
  const std::string html = render_report(sample_records(), nullptr, "run");
  const std::string rate = section(html, "chart-rate");
  ASSERT_FALSE(rate.empty());
  EXPECT_EQ(polyline_points(rate, "lif1"), 5);
  EXPECT_EQ(polyline_points(rate, "lif2"), 5);
  EXPECT_NE(rate.find("per batch"), std::string::npos);
  // Different colours for the two layers.
  const std::size_t first = rate.find("data-series=\"lif1\" fill=\"none\" stroke=\"");
  const std::size_t second = rate.find("data-series=\"lif2\" fill=\"none\" stroke=\"");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_NE(rate.substr(first + 39, 7), rate.substr(second + 39, 7));
}

TEST(ReportRender, EpochLevelRatesWithoutBatchRecords) {
  std::vector<json> records;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    json record = epoch_record(epoch, 0.1, 0.2);
    record.erase("kind");  // older runs: records without "kind" are epoch records
    records.push_back(record);
  }
  const std::string rate = section(render_report(records, nullptr, "run"), "chart-rate");
  EXPECT_EQ(polyline_points(rate, "lif1"), 3);
  EXPECT_EQ(polyline_points(rate, "lif2"), 3);
  EXPECT_NE(rate.find("per epoch"), std::string::npos);
}

TEST(ReportRender, BandRectanglesWhenBandsAreGiven) {
  const std::string with = section(render_report(sample_records(), nullptr, "r"), "chart-rate");
  EXPECT_EQ(count(with, "<rect class=\"band\""), 2U);
  EXPECT_NE(with.find("<rect class=\"band\" data-series=\"lif1\""), std::string::npos);
  EXPECT_NE(with.find("<rect class=\"band\" data-series=\"lif2\""), std::string::npos);

  const std::vector<json> plain = {epoch_record(1, 0.1, 0.2)};
  EXPECT_EQ(count(render_report(plain, nullptr, "r"), "class=\"band\""), 0U);
}

TEST(ReportRender, SummaryTableHasFinalValuesPerLayer) {
  const std::string html = render_report(sample_records(), nullptr, "run");
  const std::string summary = section(html, "summary");
  EXPECT_EQ(count(summary, "<tr><td>"), 2U);
  EXPECT_NE(summary.find("0.14"), std::string::npos);        // final rate of lif1
  EXPECT_NE(summary.find("0.02 – 0.2"), std::string::npos);  // its band
  EXPECT_NE(html.find("80.00%"), std::string::npos);         // final test accuracy 0.78 + 0.02
}

TEST(ReportRender, RasterHasOneMarkPerSpike) {
  json raster = {{"sample", 0},
                 {"label", 3},
                 {"prediction", 3},
                 {"time_steps", 25},
                 {"layers", json::array()}};
  json input = {{"name", "input"}, {"neurons", 784}, {"spikes", json::array()}};
  for (int k = 0; k < 300; ++k) input["spikes"].push_back({k % 25, (k * 37) % 784});
  json hidden = {{"name", "lif1"}, {"neurons", 100}, {"spikes", json::array()}};
  for (int k = 0; k < 40; ++k) hidden["spikes"].push_back({k % 25, k});
  raster["layers"].push_back(input);
  raster["layers"].push_back(hidden);

  const std::string html = render_report(sample_records(), &raster, "run");
  const std::string panel = section(html, "chart-raster");
  ASSERT_FALSE(panel.empty());
  for (const auto& [name, spikes] :
       {std::pair<std::string, std::size_t>{"input", 300}, {"lif1", 40}}) {
    const std::size_t start = panel.find("class=\"spikes\" data-layer=\"" + name + "\"");
    ASSERT_NE(start, std::string::npos) << name;
    EXPECT_NE(panel.find("data-count=\"" + std::to_string(spikes) + "\"", start),
              std::string::npos);
    const std::size_t d = panel.find(" d=\"", start) + 4;
    EXPECT_EQ(count(panel.substr(d, panel.find('"', d) - d), "M"), spikes) << name;
  }
  EXPECT_NE(panel.find("label 3"), std::string::npos);
  EXPECT_EQ(panel.find("evenly subsampled"), std::string::npos);
}

TEST(ReportRender, RasterIsCappedAndSaysSo) {
  json layer = {{"name", "lif1"}, {"neurons", 1000}, {"spikes", json::array()}};
  for (int k = 0; k < 25000; ++k) layer["spikes"].push_back({k % 25, k % 1000});
  const json raster = {{"time_steps", 25}, {"layers", {layer}}};
  const std::string panel = section(render_report({}, &raster, "run"), "chart-raster");
  EXPECT_NE(panel.find("data-count=\"20000\""), std::string::npos);
  EXPECT_NE(panel.find("showing 20,000 of 25,000 spikes"), std::string::npos);
}

TEST(ReportRender, NoExternalResources) {
  json raster = {{"time_steps", 5},
                 {"layers", {{{"name", "lif1"}, {"neurons", 4}, {"spikes", {{0, 1}}}}}}};
  const std::string html = render_report(sample_records(), &raster, "run");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

TEST(ReportRender, EscapesLayerNamesAndTitle) {
  json record = epoch_record(1, 0.1, 0.2);
  record["rate"] = {{"a<b&c", 0.1}};
  record["bands"] = {{"a<b&c", {0.0, 0.3}}};
  record["alarms"] = {{{"layer", "a<b&c"},
                       {"kind", "saturation"},
                       {"value", 0.9},
                       {"message", "rate <too> high & rising"}}};
  json raster = {{"time_steps", 2},
                 {"layers", {{{"name", "a<b&c"}, {"neurons", 2}, {"spikes", {{0, 0}}}}}}};
  const std::string html = render_report({record}, &raster, "<run & \"name\">");
  EXPECT_EQ(html.find("a<b&c"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&amp;c"), std::string::npos);
  EXPECT_EQ(polyline_points(section(html, "chart-rate"), "a&lt;b&amp;c"), 1);
  EXPECT_EQ(html.find("<run"), std::string::npos);
  EXPECT_NE(html.find("&lt;run &amp; &quot;name&quot;&gt;"), std::string::npos);
  EXPECT_NE(html.find("rate &lt;too&gt; high &amp; rising"), std::string::npos);
}

TEST(ReportRender, SkipsNonFiniteValues) {
  std::vector<json> records;
  records.push_back(batch_record(1, 1, 0.25, 0.1, std::numeric_limits<double>::quiet_NaN()));
  records.push_back(batch_record(1, 2, 0.5, 0.1, std::numeric_limits<double>::infinity()));
  json null_rate = batch_record(1, 3, 0.75, 0.1, 0.2);
  null_rate["rate"]["lif2"] = nullptr;  // how nlohmann::json writes NaN
  records.push_back(null_rate);
  records.push_back(batch_record(1, 4, 1.0, 0.1, 0.2));
  json epoch = epoch_record(1, 0.1, 0.2);
  epoch["test_loss"] = std::numeric_limits<double>::quiet_NaN();
  records.push_back(epoch);
  const std::string html = render_report(records, nullptr, "run");
  const std::string rate = section(html, "chart-rate");
  EXPECT_EQ(polyline_points(rate, "lif1"), 4);
  EXPECT_EQ(polyline_points(rate, "lif2"), 1);
  EXPECT_EQ(polyline_points(section(html, "chart-loss"), "test"), -1);
  EXPECT_EQ(polyline_points(section(html, "chart-loss"), "train"), 1);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf\""), std::string::npos);
}

TEST(ReportRender, SingleEpochIsDrawnWithMarkers) {
  const std::string html = render_report({epoch_record(1, 0.1, 0.2)}, nullptr, "run");
  const std::string loss = section(html, "chart-loss");
  EXPECT_EQ(polyline_points(loss, "train"), 1);
  EXPECT_EQ(polyline_points(loss, "test"), 1);
  EXPECT_EQ(count(loss, "<circle"), 2U);
  EXPECT_EQ(count(section(html, "chart-accuracy"), "<circle"), 2U);
}

TEST(ReportRender, NoDataAndOptionalChartsLeftOut) {
  const std::string empty = render_report({}, nullptr, "empty run");
  EXPECT_NE(section(empty, "chart-loss").find("no data"), std::string::npos);
  EXPECT_NE(section(empty, "chart-rate").find("no data"), std::string::npos);
  EXPECT_EQ(empty.find("id=\"chart-threshold\""), std::string::npos);
  EXPECT_EQ(empty.find("id=\"chart-synops\""), std::string::npos);
  EXPECT_EQ(empty.find("id=\"chart-raster\""), std::string::npos);
  EXPECT_EQ(empty.find("id=\"alarms\""), std::string::npos);

  const std::string basic = render_report({epoch_record(1, 0.1, 0.2)}, nullptr, "run");
  EXPECT_EQ(basic.find("id=\"chart-threshold\""), std::string::npos);
  EXPECT_EQ(basic.find("id=\"chart-efficiency\""), std::string::npos);
  EXPECT_EQ(section(basic, "chart-loss").find("no data"), std::string::npos);
}

TEST(ReportRender, OptionalChartsWhenPresent) {
  std::vector<json> records = sample_records();
  for (json& record : records) {
    if (record["kind"] == "batch") record["threshold_scale"] = {{"lif1", 1.1}, {"lif2", 0.9}};
    if (record["kind"] == "epoch") {
      record["synops"] = 1.2e6;
      record["synaptic_efficiency"] = 0.3;
      record["validation_accuracy"] = 0.79;
    }
  }
  const std::string html = render_report(records, nullptr, "run");
  EXPECT_EQ(polyline_points(section(html, "chart-threshold"), "lif1"), 5);
  EXPECT_EQ(polyline_points(section(html, "chart-synops"), "SynOps"), 2);
  EXPECT_NE(section(html, "chart-synops").find("M</text>"), std::string::npos);  // 1.2M ticks
  EXPECT_EQ(polyline_points(section(html, "chart-efficiency"), "efficiency"), 2);
  EXPECT_EQ(polyline_points(section(html, "chart-accuracy"), "validation"), 2);
  EXPECT_EQ(polyline_points(section(html, "chart-dead"), "lif1"), 2);
  EXPECT_EQ(polyline_points(section(html, "chart-saturated"), "lif2"), 2);
}

TEST(ReportRender, AlarmsAreListed) {
  std::vector<json> records = sample_records();
  records.back()["alarms"] = {
      {{"layer", "lif2"}, {"kind", "saturation"}, {"value", 0.93}, {"message", "too busy"}},
      {{"layer", "lif1"}, {"kind", "dead"}, {"value", 0.4}, {"message", "too quiet"}}};
  const std::string html = render_report(records, nullptr, "run");
  const std::string alarms = section(html, "alarms");
  EXPECT_EQ(count(alarms, "<li>"), 2U);
  EXPECT_NE(alarms.find("saturation"), std::string::npos);
  EXPECT_NE(alarms.find("too quiet"), std::string::npos);
  EXPECT_NE(alarms.find("0.93"), std::string::npos);
}

TEST(ReportRender, ManyLayersGetDistinctStyles) {
  json record = epoch_record(1, 0.1, 0.2);
  record["rate"] = json::object();
  for (int i = 1; i <= 12; ++i) record["rate"]["lif" + std::to_string(i)] = 0.01 * i;
  const std::string rate = section(render_report({record}, nullptr, "run"), "chart-rate");
  std::set<std::string> styles;
  for (int i = 1; i <= 12; ++i) {
    const std::string head = "data-series=\"lif" + std::to_string(i) + "\" fill=\"none\" ";
    const std::size_t start = rate.find(head);
    ASSERT_NE(start, std::string::npos) << i;
    const std::size_t end = rate.find(" points=", start);
    styles.insert(rate.substr(start + head.size(), end - start - head.size()));
  }
  EXPECT_EQ(styles.size(), 12U);
  // Natural order: lif2 is listed before lif10.
  EXPECT_LT(rate.find("data-series=\"lif2\""), rate.find("data-series=\"lif10\""));
}

TEST(ReportRender, LongBatchTracesAreThinned) {
  std::vector<json> records;
  for (int k = 1; k <= 10000; ++k) records.push_back(batch_record(1, k, k / 100.0, 0.1, 0.2));
  const std::string rate = section(render_report(records, nullptr, "run"), "chart-rate");
  const int points = polyline_points(rate, "lif1");
  EXPECT_GT(points, 3000);
  EXPECT_LE(points, 4001);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ReportWrite, CreatesReportHtml) {
  const testing::TempDir dir;
  std::string text;
  for (const json& record : sample_records()) text += record.dump() + "\n";
  write_text(dir.file("metrics.jsonl"), text + "\n");  // a trailing blank line is fine
  write_text(dir.file("raster.json"),
             R"({"time_steps":3,"layers":[{"name":"lif1","neurons":2,"spikes":[[0,1],[2,0]]}]})");
  write_report(dir.path());
  const std::string html = read_text(dir.file("report.html"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))  // no temporary left
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_NE(html.find(dir.path().filename().string()), std::string::npos);  // run name
  EXPECT_EQ(polyline_points(section(html, "chart-rate"), "lif1"), 5);
  EXPECT_NE(section(html, "chart-raster").find("data-count=\"2\""), std::string::npos);
}

TEST(ReportWrite, MalformedLineRaisesDataErrorNamingTheLine) {
  const testing::TempDir dir;
  write_text(dir.file("metrics.jsonl"), epoch_record(1, 0.1, 0.2).dump() + "\n" +
                                            epoch_record(2, 0.1, 0.2).dump() +
                                            "\n{\"kind\":\"epoch\",\"epoch\":3,\"train_loss\":\n");
  try {
    write_report(dir.path());
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("report.html")));

  write_text(dir.file("metrics.jsonl"), epoch_record(1, 0.1, 0.2).dump() + "\n[1, 2]\n");
  try {
    write_report(dir.path());
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(ReportWrite, MissingMetricsRaisesDataError) {
  const testing::TempDir dir;
  EXPECT_THROW(write_report(dir.path()), DataError);
  EXPECT_THROW(write_report(dir.path() / "does-not-exist"), DataError);
}

TEST(ReportWrite, UnreadableRasterStillWritesReport) {
  const testing::TempDir dir;
  write_text(dir.file("metrics.jsonl"), epoch_record(1, 0.1, 0.2).dump() + "\n");
  write_text(dir.file("raster.json"), "{\"layers\": [");
  write_report(dir.path());
  const std::string html = read_text(dir.file("report.html"));
  EXPECT_NE(section(html, "chart-raster").find("raster.json could not be read"), std::string::npos);
}

}  // namespace
}  // namespace homeostat
