#include "tensor/gemm_bf16.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <compare>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "tensor/gemm_blocking.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {

std::uint16_t to_bf16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  return static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float from_bf16(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

namespace {

using dnnl::memory;

// Copies the stored rows x columns matrix (leading dimension ld) into dense bf16, transposed
// when `transpose` (then the copy is columns x rows). The buffer only grows, so a training loop
// stops allocating after its first batch.
const std::uint16_t* to_dense_bf16(const float* source, std::size_t rows, std::size_t columns,
                                   std::size_t ld, bool transpose,
                                   std::vector<std::uint16_t>& buffer) {
  if (buffer.size() < rows * columns) buffer.resize(rows * columns);
  std::uint16_t* const target = buffer.data();
  const bool parallel = !omp_in_parallel() && rows * columns >= kMinParallelWork;
  if (!transpose) {
#pragma omp parallel for schedule(static) if (parallel)
    for (std::size_t row = 0; row < rows; ++row) {
      const float* in = source + row * ld;
      std::uint16_t* out = target + row * columns;
      for (std::size_t column = 0; column < columns; ++column) out[column] = to_bf16(in[column]);
    }
    return target;
  }
  // Tiles keep both the reads and the strided writes within a few cache lines.
  constexpr std::size_t kTile = 32;
  const std::size_t column_tiles = (columns + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::size_t tile = 0; tile < column_tiles; ++tile) {
    const std::size_t column_begin = tile * kTile;
    const std::size_t column_end = std::min(columns, column_begin + kTile);
    for (std::size_t row_begin = 0; row_begin < rows; row_begin += kTile) {
      const std::size_t row_end = std::min(rows, row_begin + kTile);
      for (std::size_t row = row_begin; row < row_end; ++row) {
        for (std::size_t column = column_begin; column < column_end; ++column)
          target[column * rows + row] = to_bf16(source[row * ld + column]);
      }
    }
  }
  return target;
}

// One block's matmul shape, strides and scaling: the key of the primitive cache.
struct BlockKey {
  memory::dim rows, columns, depth;
  memory::dim a_row_stride, a_depth_stride, b_depth_stride, b_column_stride, ldc;
  float alpha, beta;
  auto operator<=>(const BlockKey&) const = default;
};

struct BlockPrimitive {
  dnnl::matmul matmul;
  memory::desc a, b, c;
};

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Creating a primitive costs far more than running a small one (W2 runs about 170 GEMMs a
// batch), so each thread keeps the primitives of the shapes it has seen.
const BlockPrimitive& primitive_for(const BlockKey& key) {
  thread_local std::map<BlockKey, BlockPrimitive> cache;
  const auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  const memory::desc a({key.rows, key.depth}, memory::data_type::bf16,
                       {key.a_row_stride, key.a_depth_stride});
  const memory::desc b({key.depth, key.columns}, memory::data_type::bf16,
                       {key.b_depth_stride, key.b_column_stride});
  const memory::desc c({key.rows, key.columns}, memory::data_type::f32, {key.ldc, 1});
  dnnl::primitive_attr attributes;
  if (key.alpha != 1.0f) attributes.set_output_scales(0, {key.alpha});
  if (key.beta != 0.0f) {
    dnnl::post_ops accumulate;
    accumulate.append_sum(key.beta);
    attributes.set_post_ops(accumulate);
  }
  const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(a, b, c), attributes,
                                                 cpu_engine());
  return cache.emplace(key, BlockPrimitive{dnnl::matmul(description), a, b, c}).first->second;
}

// Runs one block single-threaded: the primitive is created and run with one OpenMP thread, so
// oneDNN never splits the reduction over K (see gemm_blocking.hpp).
void run_block(const BlockKey& key, const std::uint16_t* a, const std::uint16_t* b, float* c) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const BlockPrimitive& block = primitive_for(key);
  thread_local dnnl::stream stream(cpu_engine());
  memory a_memory(block.a, cpu_engine(), const_cast<std::uint16_t*>(a));
  memory b_memory(block.b, cpu_engine(), const_cast<std::uint16_t*>(b));
  memory c_memory(block.c, cpu_engine(), c);
  block.matmul.execute(
      stream, {{DNNL_ARG_SRC, a_memory}, {DNNL_ARG_WEIGHTS, b_memory}, {DNNL_ARG_DST, c_memory}});
  stream.wait();
  omp_set_num_threads(threads);
}

memory::dim dim(std::size_t value) { return static_cast<memory::dim>(value); }

}  // namespace

void gemm_bf16(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
               float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
               float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  // op(A) is always copied row-major (m x k): oneDNN's fast bf16 matmul (brgemm) wants its
  // source that way and otherwise falls back to a slower kernel. op(B) may stay transposed.
  const bool b_plain = trans_b == Transpose::no;
  const std::size_t b_stored_columns = b_plain ? n : k;
  thread_local std::vector<std::uint16_t> a_buffer, b_buffer;
  const std::uint16_t* a_bf16 = trans_a == Transpose::no
                                    ? to_dense_bf16(a, m, k, lda, false, a_buffer)
                                    : to_dense_bf16(a, k, m, lda, true, a_buffer);
  const std::uint16_t* b_bf16 =
      to_dense_bf16(b, b_plain ? k : n, b_stored_columns, ldb, false, b_buffer);
  const memory::dim a_ld = dim(k);
  const memory::dim b_ld = dim(b_stored_columns);
  gemm_blocking::for_each_block(
      m, n, k, [&](std::size_t row, std::size_t rows, std::size_t column, std::size_t columns) {
        const BlockKey key{dim(rows),          dim(columns),       dim(k),   a_ld,  1,
                           b_plain ? b_ld : 1, b_plain ? 1 : b_ld, dim(ldc), alpha, beta};
        run_block(key, gemm_blocking::op_row(a_bf16, Transpose::no, k, row),
                  gemm_blocking::op_column(b_bf16, trans_b, b_stored_columns, column),
                  c + row * ldc + column);
      });
}

}  // namespace homeostat
