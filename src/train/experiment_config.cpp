#include "train/experiment_config.hpp"

namespace homeostat {

Shape data_sample_shape(const DataSpec& data) {
  // IDX images are 28x28 (Fashion-MNIST, MNIST, KMNIST); the loader checks the files.
  if (data.source == DataSource::anomaly) return {data.anomaly.steps, data.anomaly.channels};
  if (data.source == DataSource::events) {
    return event_frame_shape(data.event_files.width, data.event_files.height,
                             data.event_binning.downsample);
  }
  return {28, 28};
}

Shape network_input_shape(const ExperimentConfig& config) {
  if (config.data.source == DataSource::events) {
    // One binned frame per step: {2, H, W} for conv nets, flattened otherwise.
    Shape frame = data_sample_shape(config.data);
    if (config.data.view == DataView::image) return frame;
    return {shape_size(frame)};
  }
  // The view decides how a sample reaches the network.
  const ViewShape view = view_shape(config.data.view, data_sample_shape(config.data));
  Shape shape = view.feature_shape;
  const std::size_t encoded = encoded_features(config.encoder, shape_size(shape));
  if (encoded != shape_size(shape)) shape = {encoded};
  return shape;
}

}  // namespace homeostat
