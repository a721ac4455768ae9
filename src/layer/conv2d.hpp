// 2-D convolution applied to every step and sample: for each of the T*B images x [C_in, H, W],
//   y[o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] x[c, i*s - p + u, j*s - p + v]
// (zero outside the image), H_out = (H + 2p - k)/s + 1, likewise W_out. W is [C_out, C_in, k, k]
// (PyTorch's layout), b is [C_out].
// Images go through im2col into a column matrix [C_in*k*k, images*H_out*W_out] (rows filled
// with contiguous runs of output columns; the GEMMs take it as their row-split operand, so
// homeostat::gemm packs it once), over fixed chunks of images whose scratch stays under
// the buffer limit (2 MB by default: conv2 of W3 takes 27 images per chunk). The chunks run in
// one OpenMP loop, each chunk on one thread with its own scratch and single-threaded GEMMs
// (homeostat::gemm inside a parallel region), so a batch costs two barriers per pass, not a few
// per chunk. The columns are recomputed in backward rather than kept from forward, so the
// layer's memory does not grow with T*B. Each chunk writes its own images' outputs and input
// gradients; backward runs fixed groups of consecutive chunks (at most 32), each group's chunks
// in order on one thread accumulating one weight-gradient partial; the partials are summed in
// group order, and chunk and group boundaries depend only on the shapes, so results do not
// depend on the thread count.
// With bf16 GEMMs (float layers set to GemmPrecision::bf16, shapes where gemm_runs_bf16), the
// forward and weight-gradient
// GEMMs take columns written directly in bf16 (gemm_bf16_prepared): the forward as pixel-major
// rows [images*H_out*W_out, C_in*k*k] (im2row), the weight gradient as the column matrix above;
// no fp32 columns, no conversion pass. The input gradient stays fp32 (W^T dY, then col2im),
// computed and folded back in strips of images whose columns stay in L2.
// Small patches with few output channels (W3's conv1) skip im2col and the forward and
// weight-gradient GEMMs: a direct convolution, image by image, within the same chunks and
// partials (layer/conv_direct.hpp; set_direct).
#pragma once

#include <cstdint>
#include <optional>

#include "layer/conv_direct.hpp"
#include "layer/init.hpp"
#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class Conv2dLayer final : public Layer<Real> {
 public:
  // ConfigError if input_shape is not {C_in, H, W} or the output would be empty.
  Conv2dLayer(std::string name, const Shape& input_shape, std::size_t out_channels,
              std::size_t kernel, std::size_t stride, std::size_t padding, bool use_bias,
              const InitSpec& init, std::uint64_t seed, std::uint64_t layer_index);

  [[nodiscard]] std::string_view kind() const override { return "conv2d"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  [[nodiscard]] bool backward_reads_output() const override { return false; }
  std::vector<Parameter<Real>*> parameters() override;
  // Each input pixel feeds C_out * k * k synapses (borders and strides ignored).
  IncomingSynapses<Real> incoming_synapses() override {
    return {{&weight_.value}, weight_.value.dim(0)};
  }
  [[nodiscard]] std::size_t fan_out_per_input() const override {
    return out_channels_ * kernel_ * kernel_;
  }

  Parameter<Real>& weight() { return weight_; }

  // Upper bound in bytes on each thread's column buffer; batches are split into chunks of whole
  // images (at least one) that fit it. Exposed so tests can exercise ragged and one-image chunks.
  void set_column_buffer_limit(std::size_t bytes) { column_buffer_limit_ = bytes; }

  // The forward of a chunk whose input is mostly zeros (spikes) can skip im2col and the GEMM:
  // each nonzero input adds its value times k*k tap rows of C_out weights into the outputs that
  // read it; the weight gradient likewise adds the value times the output gradient of each
  // output that reads it into the tap rows (fp32 whatever gemm_precision says). automatic: when
  // C_out >= 16 and the chunk's nonzeros are fewer than half of pixels * C_in per image, or,
  // where the chunk's GEMMs run in bf16 on AMX (bf16_forward, bf16_gemm_has_amx), fewer than
  // 1/64 of its inputs; always/never: for tests.
  enum class EventForward { automatic, always, never };
  void set_event_forward(EventForward mode) { event_forward_ = mode; }
  // Whether the forward of a chunk of `count` images takes the event path.
  [[nodiscard]] bool events_pay(const Real* images, std::size_t count) const;

  // Layers that DirectConv suits (stride 1, C_in * k * k <= 32, C_out <= 32: few multiply-adds
  // per output pixel, where im2col and a narrow GEMM cost more than the arithmetic) convolve
  // directly: no im2col, no GEMM, no event walk (layer/conv_direct.hpp). Off: for tests.
  void set_direct(bool enabled) { direct_enabled_ = enabled; }
  [[nodiscard]] bool direct() const { return direct_ && direct_enabled_; }
  // Direct path, one image: its convolution without the bias, channel-major planes of H_out rows
  // of direct_row_stride() values, in the thread's workspace (valid until its next step).
  const Real* direct_planes(const Real* image);
  [[nodiscard]] std::size_t direct_row_stride() const { return direct_->row_stride(); }
  // Direct path, one image, fused with a 2x2 max pool of stride 2: the pooled output with the
  // bias [C_out, H_out / 2, W_out / 2] and each window's winner, as ConvPoolLayer pools.
  void direct_forward_pool2(const Real* image, Real* y, std::uint8_t* winners);
  // Direct path, backward of chunk `index` under a 2x2 max pool of stride 2, from the pooled
  // gradient [count, C_out, H_out / 2, W_out / 2] and the winners (u * 2 + v per window): the
  // weight and bias gradient only (for a first layer), the bits of backward_rows on the dense
  // gradient.
  void direct_backward_pooled(const Real* images, std::size_t count, std::size_t index,
                              const Real* pooled_grad, const std::uint8_t* winners);

  // Chunk-level steps for layers that wrap a convolution (ConvPoolLayer, layer/conv_pool.hpp).
  // A batch's images go in chunks of images_per_chunk() (the last one may hold fewer); call
  // prepare(chunks) before a parallel loop over the chunks, whose steps run on the calling thread
  // with its workspace, and reduce_partials(chunks) after the backward loop.
  [[nodiscard]] std::size_t images_per_chunk() const;
  void prepare(std::size_t chunks);
  // Backward gathers the chunks into at most 32 groups of consecutive chunks (sizes fixed by the
  // chunk count alone); a group's chunks must run in order on one thread, and they accumulate
  // into the group's weight-gradient partial, so the partials stay small however small the
  // chunks are.
  struct ChunkGroups {
    std::size_t per_group;
    std::size_t groups;
    [[nodiscard]] std::size_t begin(std::size_t group) const { return group * per_group; }
  };
  [[nodiscard]] static ChunkGroups chunk_groups(std::size_t chunks);
  // The output of `count` images without the bias, pixel-major [count * pixels, C_out], in the
  // thread's workspace (valid until the thread's next step).
  const Real* forward_rows(const Real* images, std::size_t count);
  // The thread's output-gradient buffer for a chunk of `count` images, channel-major
  // [C_out, count * pixels]; fill it, then call backward_rows.
  Real* gradient_rows(std::size_t count);
  // Backward of chunk `index` from gradient_rows: adds the chunk's weight and bias gradient to
  // its group's partial (assigns it for the group's first chunk) and, when grad_images is
  // non-null, writes its images' input gradient (assigned).
  void backward_rows(const Real* images, std::size_t count, std::size_t index, Real* grad_images);
  // Adds the partials of the groups of `chunks` chunks, in group order, to the parameter
  // gradients.
  void reduce_partials(std::size_t chunks);
  [[nodiscard]] const Real* bias_values() const { return bias_ ? bias_->value.data() : nullptr; }

 private:
  void check_input(const Tensor<Real>& input) const;
  // Output indices [begin, end) of an axis with `outputs` positions whose input coordinate
  // o * s + offset - p lies inside [0, size).
  struct OutputSpan {
    std::size_t begin, end;
  };
  [[nodiscard]] OutputSpan valid_outputs(std::size_t offset, std::size_t size,
                                         std::size_t outputs) const;
  // Kernel offsets [first, end), step s, through which outputs read input coordinate
  // `position` (padded coordinates: x + p); `output` reads it through `first`, and each further
  // tap belongs to the output before.
  struct TapRange {
    std::size_t first, end, output;
  };
  [[nodiscard]] TapRange tap_range(std::size_t position, std::size_t outputs) const;
  // Calls visit(value, tap_offset, pixel_offset) for every nonzero input value of `count`
  // images and every output pixel that reads it: tap_offset locates the weight-tap row of
  // C_out values, pixel_offset the output pixel's row (both in units of Real).
  template <typename Visit>
  void for_each_event_tap(const Real* images, std::size_t count, Visit&& visit) const;
  // rows [count * pixels, C_out] (no bias) from the nonzero inputs, event by event.
  void forward_events(const Real* images, std::size_t count, Real* rows) const;
  // taps [patch, C_out] += the weight gradient (transposed) of a chunk from its nonzero inputs
  // and its pixel-major output gradient.
  void weight_gradient_events(const Real* images, std::size_t count, const Real* pixel_rows,
                              Real* taps) const;
  // columns [patch, count * pixels] <- images [count, C_in, H, W]: row (c, u, v) holds, image
  // after image, the pixel each output position reads through kernel tap (u, v) of channel c.
  // T is Real, or std::uint16_t for bf16 bits (the bf16 GEMM path), which copies short runs as
  // im2row does and needs the same slack.
  template <typename T>
  void im2col(const T* images, std::size_t count, T* columns) const;
  // The transposed layout, pixel-major rows [count * pixels, patch]: the row of output pixel
  // (n, oh, ow) holds its patch (c, u, v). Copies runs of k values with whole kRunCopy-element
  // moves, so `images` must be readable and `rows` writable kRunCopy elements past their ends.
  template <typename T>
  static constexpr std::size_t kRunCopy = 16 / sizeof(T);
  template <typename T>
  void im2row(const T* images, std::size_t count, T* rows) const;
  // Whether the chunk's forward (or weight gradient) runs as a bf16 GEMM on bf16 columns:
  // float layers whose GEMM of that shape runs in bf16 (gemm_runs_bf16).
  [[nodiscard]] bool bf16_forward(std::size_t count) const;
  [[nodiscard]] bool bf16_weight_gradient(std::size_t count) const;
  // The chunk's images in bf16 bits in the workspace (spikes are exact), with the slack im2row
  // reads past the end.
  const std::uint16_t* bf16_images(const Real* images, std::size_t count);
  // images [count, C_in, H, W] = sum of the column entries that read each pixel (assigned).
  void col2im(const Real* columns, std::size_t count, Real* images) const;

  std::size_t in_channels_;
  std::size_t height_;
  std::size_t width_;
  std::size_t out_channels_;
  std::size_t kernel_;
  std::size_t stride_;
  std::size_t padding_;
  std::size_t out_height_;
  std::size_t out_width_;
  std::size_t pixels_;  // H_out * W_out
  std::size_t patch_;   // C_in * k * k
  // 2 MB: W3's conv2 chunks (27 images) keep its GEMMs above the bf16 threshold (2^24 MACs).
  std::size_t column_buffer_limit_ = std::size_t{2} << 20;
  Parameter<Real> weight_;               // [C_out, C_in, k, k]
  std::optional<Parameter<Real>> bias_;  // [C_out]
  // valid_outputs for each kernel offset along the rows and the columns (the constructor's).
  std::vector<OutputSpan> row_spans_;
  std::vector<OutputSpan> column_spans_;
  // tap_range of each input row and column (the event-driven loops).
  std::vector<TapRange> row_taps_;
  std::vector<TapRange> column_taps_;
  // Per-thread scratch reused across calls: im2col columns (and their gradient in backward) and
  // a GEMM output-sized buffer: the pixel-major forward output [count * pixels, C_out], the
  // channel-major output gradient [C_out, count * pixels] in backward.
  struct Workspace {
    std::vector<Real> columns;
    std::vector<Real> channel_rows;
    std::vector<Real> pixel_rows;  // event-driven backward: dY pixel-major [count*pixels, C_out]
    // bf16 GEMM path: the chunk's images and their columns (either layout) as bf16 bits.
    std::vector<std::uint16_t> bf16_images;
    std::vector<std::uint16_t> bf16_columns;
    // Direct path: a padded image, its output planes, gradient accumulators.
    std::vector<Real> padded;
    std::vector<Real> split;  // the image split into even and odd columns
    std::vector<Real> planes;
    std::vector<Real> accumulators;
  };
  // The calling thread's workspace for the direct path (padded and planes sized).
  Workspace& direct_workspace();
  // Direct backward: pads each image and walks its gradient with `accumulate(n, padded, acc)`,
  // then adds the chunk's sums to its group's partial.
  template <typename Accumulate>
  void direct_backward(const Real* images, std::size_t count, std::size_t index,
                       Accumulate&& accumulate);
  // The calling thread's workspace, its channel_rows sized for `count` images (the other
  // buffers are grown where used: in bf16 the fp32 columns hold only a strip's gradient).
  Workspace& workspace(std::size_t count);
  template <typename T>
  static void grow(std::vector<T>& buffer, std::size_t size);
  // Images per strip of the input gradient (W^T dY and col2im strip by strip).
  [[nodiscard]] std::size_t strip_images() const;
  std::vector<Workspace> workspaces_;
  // Backward: per chunk group, its dW^T [patch * C_out] then db [C_out], summed in group order.
  std::vector<Real> partials_;
  EventForward event_forward_ = EventForward::automatic;
  std::vector<Real> weight_taps_;  // [patch, C_out], refreshed by prepare()
  // weight_taps_ in bf16 bits (W^T of the bf16 input gradient), refreshed by prepare() in bf16.
  std::vector<std::uint16_t> weight_taps_bf16_;
  std::size_t per_group_ = 1;               // chunks per group of the last prepare()
  std::optional<DirectConv<Real>> direct_;  // when DirectConv suits the geometry
  bool direct_enabled_ = true;
};

}  // namespace homeostat
