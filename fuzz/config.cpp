// A TOML config read and validated as `homeostat train` / `homeostat simulate` read theirs: the
// text is parsed, then validated as a simulation config when it has a [simulation] table and as
// an experiment otherwise (every key, type, range, and the network's shapes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "config/simulation_reader.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  homeostat::fuzz::plan_memory_as_a_small_machine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  return homeostat::fuzz::accept_rejections([&] {
    const homeostat::ConfigDocument document = homeostat::parse_config_string(text, "fuzz.toml");
    if (document.root.contains("simulation")) {
      (void)homeostat::parse_simulation(document);
    } else {
      (void)homeostat::parse_experiment(document);
    }
  });
}
