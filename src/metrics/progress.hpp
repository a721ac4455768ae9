// The progress line: epoch, batch, loss, accuracy, per-layer rate, speed and ETA. On a terminal
// it redraws in place; otherwise (logs, CI) it prints a line every `interval_seconds`.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "metrics/activity.hpp"

namespace homeostat {

inline std::string format_duration(double seconds) {
  const long long total = std::llround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60,
                total % 60);
  return text;
}

class ProgressLine {
 public:
  ProgressLine(bool enabled, double interval_seconds)
      : enabled_(enabled), terminal_(::isatty(STDERR_FILENO) != 0), interval_(interval_seconds) {}

  void update(std::size_t epoch, std::size_t epochs, std::size_t batch, std::size_t batches,
              double loss, double accuracy, const std::vector<LayerActivity>& activity,
              double batch_ms, double eta_seconds, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (!force && since < (terminal_ ? 0.2 : interval_)) return;
    last_ = now;
    std::string line = "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs) + " batch " +
                       std::to_string(batch) + "/" + std::to_string(batches);
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, " loss %.4f acc %.2f%% rate", loss, 100.0 * accuracy);
    line += numbers;
    for (const LayerActivity& a : activity) {
      std::snprintf(numbers, sizeof numbers, " %s=%.3f", a.name.c_str(), a.rate);
      line += numbers;
    }
    std::snprintf(numbers, sizeof numbers, " | %.1f ms/batch ETA %s", batch_ms,
                  format_duration(eta_seconds).c_str());
    line += numbers;
    if (terminal_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    pending_newline_ = terminal_;
  }

  // Ends an in-place line before other output.
  void finish_line() {
    if (pending_newline_) std::fprintf(stderr, "\n");
    pending_newline_ = false;
  }

 private:
  bool enabled_;
  bool terminal_;
  double interval_;
  bool pending_newline_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace homeostat
