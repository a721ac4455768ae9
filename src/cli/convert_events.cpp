// `homeostat convert-events` (see convert_events.hpp).
#include "cli/convert_events.hpp"

#include <chrono>
#include <cstdio>
#include <system_error>

#include "common/error.hpp"
#include "data/event_files.hpp"

namespace homeostat {

int run_convert_events(const ConvertEventsOptions& options) {
  validate_saccade_spec(options.saccade);
  std::error_code error;
  std::filesystem::create_directories(options.output, error);
  if (error) {
    throw DataError("cannot create '" + options.output.string() + "': " + error.message());
  }
  for (const char* split : {"train", "test"}) {
    const auto start = std::chrono::steady_clock::now();
    const Dataset images = load_idx_split(options.input, split, options.limit);
    const Dataset events = saccade_events(images, options.saccade);
    const std::filesystem::path path = options.output / (std::string(split) + ".hev.gz");
    write_hev(path, events);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_sample = events.size() > 0 ? static_cast<double>(events.events.events.size()) /
                                                      static_cast<double>(events.size())
                                                : 0.0;
    std::printf("%-5s %6zu samples  %8.1f events/sample  %zux%zu sensor  -> %s (%.1f MB, %.1f s)\n",
                split, events.size(), per_sample, events.events.width, events.events.height,
                path.c_str(), static_cast<double>(std::filesystem::file_size(path)) / 1e6, seconds);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace homeostat
