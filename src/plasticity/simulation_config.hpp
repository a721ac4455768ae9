// The config of `homeostat simulate` (local learning, plasticity/): what the simulated protocols
// read. Protocols: "diehl_cook" (W4: Poisson images -> excitatory layer with adaptive thresholds
// and lateral inhibition, unsupervised pair STDP, labels by mean response per class),
// "recurrent" (seed 002: stimulus -> recurrent E/I network, STDP on S->E and E->E, sleep phases,
// linear readout on spike counts) and "ncg" (supervised STDP with neuronal competition groups).
// Read from TOML by config/simulation_reader.hpp. Key reference: README.md ("Local learning").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "homeostasis/sleep.hpp"
#include "plasticity/ncg.hpp"
#include "plasticity/population.hpp"
#include "plasticity/projection.hpp"

namespace homeostat {

enum class SimulationProtocol { diehl_cook, recurrent, ncg };
enum class CompetitionKind { inhibitory, direct };

struct SimulationConfig {
  std::string name = "simulate";
  std::uint64_t seed = 1;
  int threads = 0;
  SimulationProtocol protocol = SimulationProtocol::diehl_cook;

  // [simulation]
  double dt = 0.5;  // ms
  double presentation_ms = 350.0;
  double rest_ms = 150.0;
  bool fast_rest = true;  // closed form for the quiet part of the rest
  // Frozen label/test passes: each image starts from the trained state with the membranes at
  // rest (v = v_rest, no synaptic input, not refractory) when true, else as training left them.
  bool frozen_from_rest = true;
  // Frozen passes run image after image on one network, each image starting from the state the
  // previous one left (Brian2's reference; one thread); frozen_from_rest then has no effect.
  bool frozen_sequential = false;
  // Label assignment (diehl_cook): mean spike counts per class ("count", Brian2's reference) or
  // mean shares of each label image's spikes ("fraction": bright images do not outweigh faint).
  bool label_fraction = false;
  // Presentation length of the frozen label/test passes (0: presentation_ms).
  double frozen_presentation_ms = 0.0;
  std::size_t min_spikes = 5;  // retry an image with more input when fewer spikes
  std::size_t max_retries = 8;
  // diehl_cook: start from this network state (a network.ckpt of an earlier run: input weights
  // and thetas) instead of the random one; with data.train_images = 0 only the frozen passes run.
  std::filesystem::path initial_state;

  // [data]
  std::filesystem::path data_directory = kDefaultFashionMnistDir;
  std::size_t train_images = 60000;
  std::size_t label_images = 10000;  // frozen pass that assigns labels (diehl_cook)
  std::size_t test_images = 10000;
  std::size_t epochs = 1;
  bool shuffle = false;        // per-epoch order from CounterRng; false: file order
  std::size_t downsample = 1;  // average-pool the images by this factor (recurrent: 2)

  // [input]
  double max_rate_hz = 63.75;         // rate of a white pixel
  double intensity_step_hz = 31.875;  // added to the white rate per retry
  ProjectionSpec input;               // input -> excitatory (weights, delay, normalization, stdp)

  // [excitatory], [inhibitory]
  std::size_t excitatory_count = 400;
  LifParams excitatory;
  std::size_t inhibitory_count = 400;
  LifParams inhibitory;

  // [competition] (diehl_cook)
  CompetitionKind competition = CompetitionKind::inhibitory;
  double excitatory_to_inhibitory = 10.4;
  double inhibitory_to_excitatory = 17.0;

  // [recurrent] (seed 002)
  ProjectionSpec recurrent_ee;  // E -> E (plastic)
  ProjectionSpec recurrent_ei;  // E -> I
  ProjectionSpec recurrent_ie;  // I -> E
  bool sleep_enabled = false;   // [sleep]
  SleepParams sleep;
  double sleep_noise_mv = 0.0;    // membrane noise during sleep (spontaneous activity)
  double readout_lambda = 100.0;  // ridge penalty of the linear readout

  // [ncg] (supervised STDP with neuronal competition groups; epochs and seed from [data] / top)
  NcgParams ncg;

  // [output]
  std::filesystem::path output_directory = "runs";
  double progress_seconds = 10.0;
  // diehl_cook: also write train_responses.bin and label_responses.bin (spike counts per image,
  // as test_responses.bin) for offline readouts
  bool save_responses = false;
  // diehl_cook: write the trained network (input weights, thetas) as network.ckpt
  bool save_state = true;

  std::string resolved_toml;
};

// The order of the first n training images in `epoch` (0-based): a permutation drawn from
// CounterRng when config.shuffle, else file order.
inline std::vector<std::size_t> image_order(std::size_t n, const SimulationConfig& config,
                                            std::size_t epoch) {
  if (config.shuffle) return epoch_order(n, config.seed, epoch);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

}  // namespace homeostat
