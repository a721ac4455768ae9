// Training report: one self-contained HTML page (inline CSS and SVG, no scripts, no network
// resources) summarising a run from its metrics.jsonl and, if present, raster.json.
//
// Sections: a header with the run name and headline numbers, a per-layer summary table, the
// alarms raised during training, then charts in a responsive grid (loss, accuracy, firing rate
// with target bands, dead and saturated fractions, threshold scales, SynOps and synaptic
// efficiency) and a spike raster of one test sample. Charts whose optional data never appears are
// left out; the core charts say "no data" instead. Non-finite values (and nulls, which is how
// nlohmann::json writes NaN) are skipped. Every piece of text from the inputs is HTML-escaped.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace homeostat {

// Writes run_directory/report.html from run_directory/metrics.jsonl and (if present)
// run_directory/raster.json. Atomic (writes report.html.tmp, then renames it). Throws DataError if
// metrics.jsonl is missing or has a malformed line (the message names the line); an unreadable
// raster.json does not fail the report, its panel says why instead. Error if the page cannot be
// written.
void write_report(const std::filesystem::path& run_directory);

// The page as text. `records` are the metrics.jsonl lines in file order (kind "epoch", "batch",
// other kinds ignored; records without "kind" are epoch records); `raster` may be null.
std::string render_report(const std::vector<nlohmann::json>& records, const nlohmann::json* raster,
                          const std::string& title);

}  // namespace homeostat
