#include "config/experiment_reader.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>

#include "common/system_memory.hpp"
#include "config/homeostasis_config.hpp"
#include "network/builder.hpp"
#include "network/footprint.hpp"
#include "neuron/model.hpp"
#include "train/rate_pass.hpp"

namespace homeostat {
namespace {

constexpr double kInf = ConfigSection::kNoMax;

InitSpec read_init(const ConfigSection& section, std::string_view prefix,
                   const InitSpec& fallback) {
  const std::string p(prefix);
  InitSpec init = fallback;
  const std::string kind =
      section.choice(p + "init", init.kind == InitSpec::Kind::uniform ? "uniform" : "normal",
                     {"uniform", "normal"});
  init.kind = kind == "uniform" ? InitSpec::Kind::uniform : InitSpec::Kind::normal;
  init.gain = section.number(p + "init_gain", init.gain, 0.0, kInf);
  init.mean = section.number(p + "init_mean", init.mean);
  if (prefix.empty()) init.bias = section.number("bias_init", init.bias);
  return init;
}

// The layer kinds a config may name, each neuron model's name standing for a spiking layer.
std::vector<std::string_view> layer_kinds() {
  std::vector<std::string_view> kinds = {"dense"};
  for (const NeuronModel& model : neuron_models()) kinds.push_back(model.name);
  for (const std::string_view kind : {"recurrent", "conv2d", "maxpool", "avgpool", "dropout",
                                      "tebn", "readout", "moderate_dropout"}) {
    kinds.push_back(kind);
  }
  return kinds;
}

std::vector<std::string_view> neuron_model_choices() {
  std::vector<std::string_view> names;
  for (const NeuronModel& model : neuron_models()) names.push_back(model.name);
  return names;
}

// The layer's `kind`: a neuron model's name makes a feed-forward spiking layer of that model.
// Returns the name as written.
std::string read_layer_kind(const ConfigSection& section, LayerSpec& spec) {
  const std::vector<std::string_view> kinds = layer_kinds();
  if (!section.has("kind")) {
    std::string names;
    for (const std::string_view kind : kinds)
      names += (names.empty() ? "" : ", ") + std::string(kind);
    throw section.error("", "every layer needs a 'kind' (" + names + ")");
  }
  std::string kind = section.choice_among("kind", "dense", kinds);
  if (find_neuron_model(kind) != nullptr) {
    spec.kind = LayerKind::lif;
    spec.neuron.model = kind;
  } else {
    spec.kind = parse_layer_kind(kind);
  }
  return kind;
}

// The neuron model's own keys (its header's reader), into spec.neuron.
void read_neuron(const ConfigSection& section, NeuronSpec& spec) {
  neuron_model(spec.model).read_keys(section, spec);
}

// The counting losses' targets (count, count_plus; train/loss.hpp).
void read_counting_loss(const ConfigSection& train, LossSpec& loss, std::size_t steps) {
  const auto t_steps = static_cast<double>(steps);
  loss.desired_count = train.number("desired_count", std::min(10.0, t_steps), 0.0, t_steps);
  loss.undesired_count = train.number("undesired_count", 1.0, 0.0, t_steps);
  loss.count_ratio_scale = train.number("count_ratio_scale", 10.0, 1e-9, kInf);
  const bool counting = loss.kind == LossKind::count || loss.kind == LossKind::count_plus;
  if (counting && loss.undesired_count >= loss.desired_count) {
    throw train.error("undesired_count", "undesired_count must be below desired_count (" +
                                             std::to_string(loss.desired_count) + ")");
  }
}

LayerSpec read_layer(const ConfigSection& section, std::size_t index) {
  LayerSpec spec;
  const std::string kind = read_layer_kind(section, spec);
  spec.name = section.string("name", kind + std::to_string(index));
  switch (spec.kind) {
    case LayerKind::dense:
      spec.units = static_cast<std::size_t>(section.required_integer("units", 1, 1 << 24));
      spec.bias = section.boolean("bias", true);
      spec.init = read_init(section, "", spec.init);
      break;
    case LayerKind::recurrent:
      spec.units = static_cast<std::size_t>(section.required_integer("units", 1, 1 << 20));
      spec.zero_diagonal = section.boolean("zero_diagonal", true);
      spec.init = read_init(section, "", spec.init);
      spec.recurrent_init = read_init(section, "recurrent_", spec.recurrent_init);
      spec.neuron.model = section.choice_among("neuron", spec.neuron.model, neuron_model_choices());
      read_neuron(section, spec.neuron);
      break;
    case LayerKind::lif:
      read_neuron(section, spec.neuron);
      break;
    case LayerKind::conv2d:
      spec.channels = static_cast<std::size_t>(section.required_integer("channels", 1, 1 << 16));
      spec.kernel = static_cast<std::size_t>(section.integer("kernel", 3, 1, 1024));
      spec.stride = static_cast<std::size_t>(section.integer("stride", 1, 1, 1024));
      spec.padding = static_cast<std::size_t>(section.integer("padding", 0, 0, 1024));
      spec.bias = section.boolean("bias", true);
      spec.fuse_pool = section.boolean("fuse_pool", true);
      spec.init = read_init(section, "", spec.init);
      break;
    case LayerKind::maxpool:
    case LayerKind::avgpool:
      spec.pool_size = static_cast<std::size_t>(section.integer("size", 2, 1, 1024));
      spec.stride = static_cast<std::size_t>(section.integer("stride", 0, 0, 1024));
      break;
    case LayerKind::dropout:
      spec.drop_probability = section.number("p", 0.5, 0.0, 0.999);
      break;
    case LayerKind::moderate_dropout:
      spec.drop_probability = section.number("p", 0.2, 0.0, 0.999);
      break;
    case LayerKind::tebn:
      spec.epsilon = section.number("epsilon", 1e-5, 1e-12, 1.0);
      spec.momentum = section.number("momentum", 0.1, 0.0, 1.0);
      break;
    case LayerKind::readout:
      spec.readout_decay = section.number("decay", 0.95, 0.0, 1.0);
      break;
  }
  section.reject_unknown_keys();
  return spec;
}

// [data.events] and [data.augment] of an event data set (data/event_files.hpp, data/events.hpp).
// data.source = "shd" is an event data set in the SHD format, 700 channels wide by default.
void read_event_data(const ConfigSection& data, DataSpec& spec, bool shd_source) {
  const ConfigSection events = data.table("events");
  EventFileSpec& files = spec.event_files;
  files.format = parse_event_format(events.choice("format", shd_source ? "shd" : "auto",
                                                  {"auto", "hev", "nmnist", "npy", "shd"}));
  const bool shd = files.format == EventFormat::shd;
  if (shd_source && !shd) {
    throw events.error("format", "data.source = \"shd\" reads the SHD format only");
  }
  files.width = static_cast<std::size_t>(events.integer("width", shd ? 700 : 34, 1, 65536));
  files.height = static_cast<std::size_t>(events.integer("height", shd ? 1 : 34, 1, 65536));
  if (shd && files.height != 1) {
    throw events.error("height", "SHD channels lie on one row: data.events.height must be 1");
  }
  files.columns = events.string("columns", "xytp");
  std::string sorted = files.columns;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.size() < 4 || sorted.find_first_not_of("_ptxy") != std::string::npos ||
      std::count(sorted.begin(), sorted.end(), 'x') != 1 ||
      std::count(sorted.begin(), sorted.end(), 'y') != 1 ||
      std::count(sorted.begin(), sorted.end(), 't') != 1 ||
      std::count(sorted.begin(), sorted.end(), 'p') != 1) {
    throw events.error("columns",
                       "must name each of x, y, t, p once ('_' skips a column), e.g. \"xytp\"");
  }
  EventBinning& binning = spec.event_binning;
  binning.downsample = static_cast<std::size_t>(events.integer("downsample", 1, 1, 1024));
  binning.value = events.choice("frame", "count", {"count", "binary"}) == "binary"
                      ? FrameValue::binary
                      : FrameValue::count;
  binning.window_us = events.number("window_us", 0.0, 0.0, Event::kMaxTime);
  events.reject_unknown_keys();

  const ConfigSection augment = data.table("augment");
  spec.augment.jitter = static_cast<std::size_t>(augment.integer("jitter", 0, 0, 1024));
  spec.augment.drop_event = augment.number("drop_event", 0.0, 0.0, 1.0);
  spec.augment.time_shift = augment.number("time_shift", 0.0, 0.0, 1.0);
  augment.reject_unknown_keys();
}

// The run's name, seed, threads and GEMM precision (the top-level keys).
void read_identity(const ConfigSection& root, ExperimentConfig& config) {
  config.name = read_run_name(root, "run");
  config.seed = static_cast<std::uint64_t>(root.integer("seed", 1, 0));
  config.threads = static_cast<int>(root.integer("threads", 0, 0, 1024));
  if (root.choice("gemm_precision", "fp32", {"fp32", "bf16"}) == "bf16") {
    if (!bf16_gemm_supported()) {
      throw root.error("gemm_precision",
                       "\"bf16\" needs a CPU with AVX512-BF16 instructions, and this one has "
                       "none; use \"fp32\"");
    }
    config.gemm_precision = GemmPrecision::bf16;
  }
}

// [data.anomaly]: the synthetic anomaly-detection set (data/anomaly.hpp).
void read_anomaly_data(const ConfigSection& a, AnomalySpec& spec) {
  const auto size = [&a](std::string_view key, std::size_t fallback) {
    return static_cast<std::size_t>(
        a.integer(key, static_cast<std::int64_t>(fallback), 0, std::int64_t{1} << 30));
  };
  spec.channels = size("channels", spec.channels);
  spec.steps = size("steps", spec.steps);
  spec.train_samples = size("train_samples", spec.train_samples);
  spec.test_samples = size("test_samples", spec.test_samples);
  spec.anomaly_fraction = a.number("anomaly_fraction", spec.anomaly_fraction);
  spec.noise = a.number("noise", spec.noise);
  spec.amplitude = a.number("amplitude", spec.amplitude);
  spec.baseline = a.number("baseline", spec.baseline);
  spec.level_jitter = a.number("level_jitter", spec.level_jitter);
  spec.channel_jitter = a.number("channel_jitter", spec.channel_jitter);
  spec.oscillation = a.number("oscillation", spec.oscillation);
  spec.min_frequency = a.number("min_frequency", spec.min_frequency);
  spec.max_frequency = a.number("max_frequency", spec.max_frequency);
  spec.latent_components = size("latent_components", spec.latent_components);
  spec.latent_share = a.number("latent_share", spec.latent_share);
  spec.min_onset = size("min_onset", spec.min_onset);
  spec.max_onset = size("max_onset", spec.max_onset);
  spec.min_duration = size("min_duration", spec.min_duration);
  spec.max_duration = size("max_duration", spec.max_duration);
  spec.min_shift_steps = size("min_shift_steps", spec.min_shift_steps);
  spec.min_affected = size("min_affected", spec.min_affected);
  spec.max_affected = size("max_affected", spec.max_affected);
  spec.dropout_level = a.number("dropout_level", spec.dropout_level);
  try {
    validate_anomaly_spec(spec);
  } catch (const ConfigError& e) {
    throw a.error("", e.what());
  }
  a.reject_unknown_keys();
}

// [data]: which samples, how many, and how long each is presented.
void read_data(const ConfigSection& root, ExperimentConfig& config) {
  const ConfigSection data = root.table("data");
  const std::string source = data.choice("source", "idx", {"idx", "anomaly", "events", "shd"});
  config.data.source = source == "anomaly"                     ? DataSource::anomaly
                       : source == "events" || source == "shd" ? DataSource::events
                                                               : DataSource::idx;
  if (config.data.source == DataSource::events) {
    read_event_data(data, config.data, source == "shd");
  }
  if (config.data.source == DataSource::anomaly) {
    read_anomaly_data(data.table("anomaly"), config.data.anomaly);
  }
  config.data.directory = data.string("directory", kDefaultFashionMnistDir);
  config.data.view = parse_data_view(data.choice("view", "flat", {"flat", "rows", "image"}));
  config.data.train_limit = static_cast<std::size_t>(data.integer("train_limit", 0, 0));
  config.data.test_limit = static_cast<std::size_t>(data.integer("test_limit", 0, 0));
  config.data.validation_fraction = data.number("validation_fraction", 0.0, 0.0, 0.9);
  config.data.num_classes = static_cast<std::size_t>(data.integer("classes", 10, 2, 1 << 20));
  const bool rows = config.data.view == DataView::rows;
  if (rows && config.data.source == DataSource::events) {
    throw data.error("view", "event data is binned into frames: use \"image\" (conv) or \"flat\"");
  }
  const std::size_t sample_rows = data_sample_shape(config.data).front();
  config.data.time_steps = static_cast<std::size_t>(
      data.integer("time_steps", rows ? static_cast<std::int64_t>(sample_rows) : 25, 1, 100000));
  if (rows && config.data.time_steps != sample_rows) {
    throw data.error("time_steps", "the 'rows' view presents one sample row per step: T must be " +
                                       std::to_string(sample_rows));
  }
  data.reject_unknown_keys();
}

// [encoder]: how a sample becomes input currents or spikes, checked against the data's view.
void read_encoder(const ConfigSection& root, ExperimentConfig& config) {
  const bool rows = config.data.view == DataView::rows;
  const ConfigSection encoder = root.table("encoder");
  const bool events = config.data.source == DataSource::events;
  config.encoder.kind = parse_encoder_kind(
      encoder.choice("kind", rows || events ? "direct" : "rate",
                     {"rate", "poisson", "latency", "latency_log", "direct", "delta"}));
  config.encoder.gain = encoder.number("gain", 1.0, 0.0, kInf);
  config.encoder.threshold = encoder.number("threshold", 0.01, 0.0, 1.0);
  config.encoder.tau = encoder.number("tau", 5.0, 1e-9, kInf);
  config.encoder.normalize = encoder.boolean("normalize", true);
  config.encoder.off_spikes = encoder.boolean("off_spikes", false);
  try {
    validate_encoder_spec(config.encoder);
  } catch (const ConfigError& e) {
    throw encoder.error("kind", e.what());
  }
  if (events && config.encoder.kind != EncoderKind::direct &&
      config.encoder.kind != EncoderKind::rate && config.encoder.kind != EncoderKind::poisson) {
    throw encoder.error("kind",
                        "event frames are presented one per step: use direct, rate or poisson");
  }
  if (config.encoder.kind == EncoderKind::delta && !rows) {
    throw encoder.error("kind", "delta encoding needs a sequence view: set data.view = \"rows\"");
  }
  if (rows && (config.encoder.kind == EncoderKind::latency ||
               config.encoder.kind == EncoderKind::latency_log)) {
    throw encoder.error("kind",
                        "latency encoding needs a static view (data.view = \"flat\" or \"image\")");
  }
  encoder.reject_unknown_keys();
}

// [[network.layers]]: the layer specs (nothing built yet: check_network does that last).
void read_network(const ConfigSection& root, const std::string& source_name,
                  ExperimentConfig& config) {
  const ConfigSection network = root.table("network");
  const std::vector<ConfigSection> layer_sections = network.array_of_tables("layers");
  network.reject_unknown_keys();
  if (layer_sections.empty()) {
    throw ConfigError("config error: " + source_name +
                      ": the network has no layers (add [[network.layers]] tables)");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < layer_sections.size(); ++i) {
    LayerSpec spec = read_layer(layer_sections[i], i);
    if (!names.insert(spec.name).second) {
      throw layer_sections[i].error("name", "layer name '" + spec.name + "' is used twice");
    }
    config.layers.push_back(std::move(spec));
  }
}

// The key that sets the size of layer `spec`'s output: units, channels, else its kind.
std::string_view size_key(const LayerSpec& spec) {
  switch (spec.kind) {
    case LayerKind::dense:
    case LayerKind::recurrent:
      return "units";
    case LayerKind::conv2d:
      return "channels";
    default:
      return "kind";
  }
}

// Refuses a network whose parameters, optimizer state and activations (network/footprint.hpp)
// would not fit in memory, naming the layer key that contributes most; before anything is built.
void check_network_memory(const std::vector<ConfigSection>& layer_sections,
                          const ExperimentConfig& config) {
  const std::optional<MemoryLimit> limit = memory_limit();
  if (!limit) return;
  FootprintSizes sizes;
  sizes.batch = config.train.batch_size * (config.train.two_pass ? 2 : 1);
  sizes.time_steps = config.data.time_steps;
  sizes.moments = config.train.optimizer.kind == OptimizerKind::sgd ? 1 : 2;
  const NetworkFootprint footprint =
      network_footprint(config.layers, network_input_shape(config), sizes);
  if (footprint.total_bytes <= static_cast<double>(limit->bytes)) return;
  // Blame the layer that sets the size of the most memory: a spiking or pooling layer's
  // activations belong to the dense or conv layer before it that sized them.
  std::vector<double> blamed(footprint.layer_bytes.size(), 0.0);
  std::size_t sizing = 0;
  for (std::size_t i = 0; i < footprint.layer_bytes.size(); ++i) {
    if (size_key(config.layers[i]) != "kind") sizing = i;
    blamed[size_key(config.layers[i]) != "kind" ? i : sizing] += footprint.layer_bytes[i];
  }
  const auto worst =
      static_cast<std::size_t>(std::max_element(blamed.begin(), blamed.end()) - blamed.begin());
  throw layer_sections[worst].error(
      size_key(config.layers[worst]),
      "the network would need about " + format_bytes(footprint.total_bytes) + " (parameters " +
          "and optimizer state " + format_bytes(footprint.parameter_bytes) + ", activations of " +
          std::to_string(sizes.batch) + " samples x " + std::to_string(sizes.time_steps) +
          " steps " + format_bytes(footprint.activation_bytes) + "; layer '" +
          config.layers[worst].name + "' and what it sizes " + format_bytes(blamed[worst]) +
          ") but the limit is " + format_bytes(static_cast<double>(limit->bytes)) + ", " +
          limit->source);
}

// Every layer built once (float) so that shape mismatches are reported against the key that
// causes them: last, after every other key is read and the memory estimate has passed.
void check_network(const ConfigSection& root, ExperimentConfig& config) {
  const std::vector<ConfigSection> layer_sections = root.table("network").array_of_tables("layers");
  check_network_memory(layer_sections, config);
  Shape shape = network_input_shape(config);
  for (std::size_t i = 0; i < layer_sections.size(); ++i) {
    try {
      shape = make_layer<float>(config.layers[i], shape, config.data.time_steps, config.seed, i)
                  ->output_shape();
    } catch (const ConfigError& e) {
      throw layer_sections[i].error("kind", e.what());
    }
  }
  if (shape_size(shape) != config.data.num_classes) {
    throw layer_sections.back().error(
        "kind", "the last layer has " + std::to_string(shape_size(shape)) +
                    " outputs but the data has " + std::to_string(config.data.num_classes) +
                    " classes");
  }
}

// [train]: the loss, the optimizer, the schedule and the method.
void read_train(const ConfigSection& root, ExperimentConfig& config) {
  const ConfigSection train = root.table("train");
  config.train.epochs = static_cast<std::size_t>(train.integer("epochs", 1, 1, 100000));
  config.train.batch_size = static_cast<std::size_t>(train.integer("batch_size", 128, 1, 1 << 20));
  config.train.eval_batch_size =
      static_cast<std::size_t>(train.integer("eval_batch_size", 256, 1, 1 << 20));
  config.train.loss.kind = parse_loss_kind(train.choice(
      "loss", "ce_count",
      {"ce_count", "ce_mean_membrane", "ce_max_membrane", "mse_count", "count", "count_plus"}));
  config.train.loss.on_rate = train.number("target_on_rate", 0.8, 0.0, 1.0);
  config.train.loss.off_rate = train.number("target_off_rate", 0.2, 0.0, 1.0);
  read_counting_loss(train, config.train.loss, config.data.time_steps);
  config.train.two_pass = train.boolean("two_pass", false);
  config.train.two_pass_weight = train.number("two_pass_weight", 0.5, 0.0, kInf);
  config.train.shards = static_cast<std::size_t>(train.integer("shards", 1, 1, 4096));
  if (config.train.shards > config.train.batch_size) {
    throw train.error("shards",
                      "train.shards = " + std::to_string(config.train.shards) +
                          " exceeds train.batch_size = " + std::to_string(config.train.batch_size) +
                          " (every shard needs a sample)");
  }
  if (config.train.shards > 1 && config.train.two_pass) {
    throw train.error("shards",
                      "sharded batches (train.shards > 1) do not support the two-pass "
                      "objective (train.two_pass)");
  }
  OptimizerSpec& opt = config.train.optimizer;
  opt.kind = parse_optimizer_kind(train.choice("optimizer", "adam", {"sgd", "adam", "adamw"}));
  opt.learning_rate = train.number("lr", 1e-3, 0.0, kInf);
  opt.momentum = train.number("momentum", 0.9, 0.0, 1.0);
  opt.nesterov = train.boolean("nesterov", false);
  opt.beta1 = train.number("beta1", 0.9, 0.0, 0.999999);
  opt.beta2 = train.number("beta2", 0.999, 0.0, 0.9999999);
  opt.epsilon = train.number("epsilon", 1e-8, 0.0, 1.0);
  opt.weight_decay =
      train.number("weight_decay", opt.kind == OptimizerKind::adamw ? 1e-2 : 0.0, 0.0, kInf);
  opt.clip_grad_norm = train.number("clip_grad_norm", 0.0, 0.0, kInf);
  ScheduleSpec& schedule = config.train.schedule;
  schedule.kind =
      parse_schedule_kind(train.choice("schedule", "constant", {"constant", "cosine", "step"}));
  schedule.min_learning_rate = train.number("min_lr", 0.0, 0.0, kInf);
  schedule.step_epochs = train.integer("step_epochs", 1, 1);
  schedule.gamma = train.number("step_gamma", 0.1, 0.0, 1.0);
  schedule.warmup_steps = train.integer("warmup_steps", 0, 0);
  config.train.method = parse_train_method(train.choice("method", "bptt", {"bptt", "rate"}));
  if (config.train.method == TrainMethod::rate) {
    const std::string obstacle =
        rate_training_obstacle(config.layers, config.train.loss.kind, config.homeostasis);
    if (!obstacle.empty())
      throw train.error("method", "\"rate\" cannot train this network: " + obstacle);
    if (config.train.two_pass) {
      throw train.error("two_pass", "the two-pass objective needs train.method = \"bptt\"");
    }
    if (config.train.shards > 1) {
      throw train.error("shards",
                        "sharded batches (train.shards > 1) need train.method = \"bptt\"");
    }
  }
  train.reject_unknown_keys();
}

// [output]: where the run directory goes and how often it is written.
void read_output(const ConfigSection& root, ExperimentConfig& config) {
  const ConfigSection output = root.table("output");
  config.output.directory = output.string("directory", "runs");
  config.output.checkpoint_every =
      static_cast<std::size_t>(output.integer("checkpoint_every", 100, 0));
  config.output.progress_seconds = output.number("progress_seconds", 2.0, 0.0, kInf);
  output.reject_unknown_keys();
}

}  // namespace

// The sections in a fixed order (data before encoder and network: they set their defaults and
// shapes), so that a config with several errors always reports the same one.
ExperimentConfig parse_experiment(const ConfigDocument& document) {
  ExperimentConfig config;
  const ConfigSection root(document, document.root, "");
  read_identity(root, config);
  read_data(root, config);
  read_encoder(root, config);
  read_network(root, document.source_name, config);
  config.homeostasis = read_homeostasis(root, config.layers);
  config.diagnostics = read_diagnostics(root.table("diagnostics"));
  read_train(root, config);
  read_output(root, config);
  root.reject_unknown_keys();
  check_network(root, config);
  config.resolved_toml = to_toml_string(document.root);
  return config;
}

ExperimentConfig load_experiment(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides) {
  ConfigDocument document = load_config_file(path);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  return parse_experiment(document);
}

}  // namespace homeostat
