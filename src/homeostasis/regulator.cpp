#include "homeostasis/regulator.hpp"

namespace homeostat {

std::string_view channel_name(RegulatorChannel channel) {
  switch (channel) {
    case RegulatorChannel::loss:
      return "loss";
    case RegulatorChannel::threshold:
      return "threshold";
    case RegulatorChannel::weights:
      return "weights";
    case RegulatorChannel::constraint:
    default:
      return "constraint";
  }
}

}  // namespace homeostat
