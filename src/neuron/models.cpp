// The model table: one line per neuron model (its header holds everything else; the contract is
// in neuron/model.hpp, the walk-through in docs/extending.md).
#include "neuron/cuba_lif.hpp"
#include "neuron/lif.hpp"
#include "neuron/model.hpp"
#include "neuron/model_population.hpp"

namespace homeostat {

const std::vector<NeuronModel>& neuron_models() {
  static const std::vector<NeuronModel> table = {
      describe_model<LifModel>(),
      describe_model<CubaLifModel>(),
  };
  return table;
}

}  // namespace homeostat
