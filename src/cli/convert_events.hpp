// `homeostat convert-events`: turns an IDX image set (Fashion-MNIST by default) into a
// saccade-style event set (data/saccade_events.hpp) written as DIR/train.hev.gz and
// DIR/test.hev.gz, ready for data.source = "events".
#pragma once

#include <cstddef>
#include <filesystem>

#include "data/saccade_events.hpp"

namespace homeostat {

struct ConvertEventsOptions {
  std::filesystem::path input = kDefaultFashionMnistDir;
  std::filesystem::path output;
  std::size_t limit = 0;  // per split; 0: all
  SaccadeSpec saccade;
};

int run_convert_events(const ConvertEventsOptions& options);

}  // namespace homeostat
