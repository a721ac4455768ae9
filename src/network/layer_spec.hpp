// What a layer is, as the config describes it: a plain description, validated by the config
// reader and turned into a Layer by the builder. Fields not used by a kind keep their defaults.
#pragma once

#include <cstddef>
#include <string>

#include "layer/init.hpp"
#include "neuron/neuron_spec.hpp"

namespace homeostat {

enum class LayerKind {
  dense,
  lif,  // a feed-forward spiking layer of any neuron model: neuron.model ("lif", "cuba_lif", ...)
  recurrent,
  conv2d,
  maxpool,
  avgpool,
  dropout,
  tebn,
  readout,
  moderate_dropout
};
LayerKind parse_layer_kind(std::string_view name);  // ConfigError lists valid kinds
std::string_view layer_kind_name(LayerKind kind);

struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  std::string name;               // unique; defaults to "<kind><index>"
  std::size_t units = 0;          // dense, recurrent
  std::size_t channels = 0;       // conv2d output channels
  std::size_t kernel = 3;         // conv2d
  std::size_t stride = 1;         // conv2d; pooling (0 = size)
  std::size_t padding = 0;        // conv2d
  std::size_t pool_size = 2;      // maxpool, avgpool
  bool bias = true;               // dense, conv2d
  bool fuse_pool = true;          // conv2d: one layer with a following maxpool (layer/conv_pool)
  InitSpec init;                  // dense, conv2d, recurrent input weights
  InitSpec recurrent_init;        // recurrent matrix
  bool zero_diagonal = true;      // recurrent
  NeuronSpec neuron;              // lif (config kind = the model's name), recurrent
  double drop_probability = 0.0;  // dropout; moderate_dropout's drop rate r
  double epsilon = 1e-5;          // tebn
  double momentum = 0.1;          // tebn running statistics
  double readout_decay = 0.95;    // readout
};

}  // namespace homeostat
