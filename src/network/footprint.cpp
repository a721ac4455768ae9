#include "network/footprint.hpp"

namespace homeostat {

double shape_elements(const Shape& shape) {
  double elements = 1.0;
  for (const std::size_t d : shape) elements *= static_cast<double>(d);
  return elements;
}

std::optional<LayerFootprint> layer_footprint(const LayerSpec& spec, const Shape& input_shape) {
  const double inputs = shape_elements(input_shape);
  const auto units = static_cast<double>(spec.units);
  switch (spec.kind) {
    case LayerKind::dense:
      return LayerFootprint{{spec.units}, units * inputs + (spec.bias ? units : 0.0)};
    case LayerKind::recurrent:
      return LayerFootprint{{spec.units}, units * (inputs + units + 1.0)};
    case LayerKind::conv2d: {
      if (input_shape.size() != 3 || spec.kernel == 0 || spec.stride == 0) return std::nullopt;
      const std::size_t height = input_shape[1] + 2 * spec.padding;
      const std::size_t width = input_shape[2] + 2 * spec.padding;
      if (spec.channels == 0 || input_shape[0] == 0 || height < spec.kernel ||
          width < spec.kernel) {
        return std::nullopt;
      }
      const Shape out{spec.channels, (height - spec.kernel) / spec.stride + 1,
                      (width - spec.kernel) / spec.stride + 1};
      const auto kernel = static_cast<double>(spec.kernel);
      return LayerFootprint{out, static_cast<double>(spec.channels) *
                                     (static_cast<double>(input_shape[0]) * kernel * kernel +
                                      (spec.bias ? 1.0 : 0.0))};
    }
    case LayerKind::maxpool:
    case LayerKind::avgpool: {
      const std::size_t stride = spec.stride == 0 ? spec.pool_size : spec.stride;
      if (input_shape.size() != 3 || spec.pool_size == 0 || input_shape[1] < spec.pool_size ||
          input_shape[2] < spec.pool_size) {
        return std::nullopt;
      }
      return LayerFootprint{{input_shape[0], (input_shape[1] - spec.pool_size) / stride + 1,
                             (input_shape[2] - spec.pool_size) / stride + 1},
                            0.0};
    }
    case LayerKind::tebn:
      return LayerFootprint{input_shape,
                            input_shape.empty() ? 0.0 : 2.0 * static_cast<double>(input_shape[0])};
    case LayerKind::lif:
    case LayerKind::dropout:
    case LayerKind::moderate_dropout:
    case LayerKind::readout:
      return LayerFootprint{input_shape, 0.0};
  }
  return std::nullopt;
}

NetworkFootprint network_footprint(const std::vector<LayerSpec>& layers, const Shape& input_shape,
                                   const FootprintSizes& sizes) {
  constexpr double kFloat = sizeof(float);
  // value and gradient, plus the optimizer's moments
  const double per_parameter = kFloat * static_cast<double>(2 + sizes.moments);
  // every step's output for the whole batch (kept for the backward pass)
  const double per_output =
      kFloat * static_cast<double>(sizes.time_steps) * static_cast<double>(sizes.batch);
  NetworkFootprint footprint;
  footprint.activation_bytes = per_output * shape_elements(input_shape);
  Shape shape = input_shape;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& spec = layers[i];
    const std::optional<LayerFootprint> layer = layer_footprint(spec, shape);
    if (!layer) break;
    // conv2d fused with the maxpool after it never holds its unpooled output
    const bool fused = spec.kind == LayerKind::conv2d && spec.fuse_pool && i + 1 < layers.size() &&
                       layers[i + 1].kind == LayerKind::maxpool;
    const double parameters = per_parameter * layer->parameters;
    const double activations = fused ? 0.0 : per_output * shape_elements(layer->output_shape);
    footprint.parameter_bytes += parameters;
    footprint.activation_bytes += activations;
    footprint.layer_bytes.push_back(parameters + activations);
    shape = layer->output_shape;
  }
  footprint.total_bytes = footprint.parameter_bytes + footprint.activation_bytes;
  return footprint;
}

}  // namespace homeostat
