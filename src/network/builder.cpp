#include "network/builder.hpp"

#include <string>

#include "common/error.hpp"
#include "layer/conv2d.hpp"
#include "layer/conv_pool.hpp"
#include "layer/dense.hpp"
#include "layer/dropout.hpp"
#include "layer/moderate_dropout.hpp"
#include "layer/pool.hpp"
#include "layer/readout.hpp"
#include "layer/recurrent.hpp"
#include "layer/spiking.hpp"
#include "layer/tebn.hpp"

namespace homeostat {
namespace {

constexpr std::string_view kLayerNames[] = {
    "dense",   "lif",     "recurrent", "conv2d",  "maxpool",
    "avgpool", "dropout", "tebn",      "readout", "moderate_dropout"};

}  // namespace

LayerKind parse_layer_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kLayerNames); ++i) {
    if (kLayerNames[i] == name) return static_cast<LayerKind>(i);
  }
  std::string valid;
  for (const auto known : kLayerNames) valid += (valid.empty() ? "" : ", ") + std::string(known);
  throw ConfigError("unknown layer kind '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string_view layer_kind_name(LayerKind kind) {
  return kLayerNames[static_cast<std::size_t>(kind)];
}

template <typename Real>
LayerPtr<Real> make_layer(const LayerSpec& spec, const Shape& input_shape, std::size_t steps,
                          std::uint64_t seed, std::uint64_t layer_index) {
  switch (spec.kind) {
    case LayerKind::dense:
      return std::make_unique<DenseLayer<Real>>(spec.name, input_shape, spec.units, spec.bias,
                                                spec.init, seed, layer_index);
    case LayerKind::lif:
      return std::make_unique<SpikingLayer<Real>>(spec.name, input_shape, spec.neuron);
    case LayerKind::recurrent:
      return std::make_unique<RecurrentLayer<Real>>(spec.name, input_shape, spec.units, spec.neuron,
                                                    spec.zero_diagonal, spec.init,
                                                    spec.recurrent_init, seed, layer_index);
    case LayerKind::conv2d:
      return std::make_unique<Conv2dLayer<Real>>(spec.name, input_shape, spec.channels, spec.kernel,
                                                 spec.stride, spec.padding, spec.bias, spec.init,
                                                 seed, layer_index);
    case LayerKind::maxpool:
    case LayerKind::avgpool:
      return std::make_unique<Pool2dLayer<Real>>(
          spec.name, input_shape,
          spec.kind == LayerKind::maxpool ? PoolKind::max : PoolKind::average, spec.pool_size,
          spec.stride);
    case LayerKind::dropout:
      return std::make_unique<DropoutLayer<Real>>(spec.name, input_shape, spec.drop_probability,
                                                  layer_index);
    case LayerKind::tebn:
      return std::make_unique<TebnLayer<Real>>(spec.name, input_shape, steps, spec.epsilon,
                                               spec.momentum);
    case LayerKind::readout:
      return std::make_unique<ReadoutLayer<Real>>(spec.name, input_shape, spec.readout_decay);
    case LayerKind::moderate_dropout:
      return std::make_unique<ModerateDropoutLayer<Real>>(spec.name, input_shape,
                                                          spec.drop_probability, layer_index);
  }
  throw ConfigError("unhandled layer kind");
}

template <typename Real>
Network<Real> build_network(const std::vector<LayerSpec>& layers, const Shape& input_shape,
                            std::size_t steps, std::uint64_t seed) {
  Network<Real> network;
  Shape shape = input_shape;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& spec = layers[i];
    if (spec.kind == LayerKind::conv2d && spec.fuse_pool && i + 1 < layers.size() &&
        layers[i + 1].kind == LayerKind::maxpool) {
      // conv2d + maxpool as one layer (layer/conv_pool.hpp); the pooling stays in the list as a
      // pass-through under its own name, so indices and names are the config's.
      auto conv = std::make_unique<Conv2dLayer<Real>>(spec.name, shape, spec.channels, spec.kernel,
                                                      spec.stride, spec.padding, spec.bias,
                                                      spec.init, seed, i);
      const LayerSpec& pool_spec = layers[i + 1];
      const Pool2dLayer<Real> pool(pool_spec.name, conv->output_shape(), PoolKind::max,
                                   pool_spec.pool_size, pool_spec.stride);  // validates
      shape = pool.output_shape();
      network.add(std::make_unique<ConvPoolLayer<Real>>(std::move(conv), shape, pool_spec.pool_size,
                                                        pool_spec.stride));
      network.add(std::make_unique<PassThroughLayer<Real>>(pool_spec.name, shape, "maxpool"));
      ++i;
      continue;
    }
    LayerPtr<Real> layer = make_layer<Real>(spec, shape, steps, seed, i);
    shape = layer->output_shape();
    network.add(std::move(layer));
  }
  return network;
}

template LayerPtr<float> make_layer(const LayerSpec&, const Shape&, std::size_t, std::uint64_t,
                                    std::uint64_t);
template LayerPtr<double> make_layer(const LayerSpec&, const Shape&, std::size_t, std::uint64_t,
                                     std::uint64_t);
template Network<float> build_network(const std::vector<LayerSpec>&, const Shape&, std::size_t,
                                      std::uint64_t);
template Network<double> build_network(const std::vector<LayerSpec>&, const Shape&, std::size_t,
                                       std::uint64_t);

}  // namespace homeostat
