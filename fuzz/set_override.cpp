// The --set parser: each line of the input is one "key=value" override, applied in order to a
// small valid experiment (W5's shape, fewer units) as `homeostat train --set` applies them; the
// result is then validated like any config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr std::string_view kBase = R"(name = "base"
seed = 1

[data]
source = "anomaly"
view = "rows"
classes = 2

[data.anomaly]
channels = 8
steps = 20

[encoder]
kind = "rate"

[[network.layers]]
kind = "recurrent"
name = "hidden"
units = 16

[[network.layers]]
kind = "dense"
name = "fc_out"
units = 2

[[network.layers]]
kind = "readout"
name = "readout"

[train]
optimizer = "adam"
lr = 2e-3

[output]
checkpoint_every = 0
)";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  homeostat::fuzz::plan_memory_as_a_small_machine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  return homeostat::fuzz::accept_rejections([&] {
    homeostat::ConfigDocument document = homeostat::parse_config_string(kBase, "base.toml");
    while (!input.empty()) {
      const std::size_t end = input.find('\n');
      homeostat::apply_override(document, input.substr(0, end));
      input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    }
    (void)homeostat::parse_experiment(document);
  });
}
