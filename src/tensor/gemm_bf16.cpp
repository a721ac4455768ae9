#include "tensor/gemm_bf16.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <compare>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "tensor/gemm_blocking.hpp"

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

// Converts n floats. With AVX512-BF16 sixteen at a time (VCVTNEPS2BF16 rounds to nearest even
// like to_bf16, but flushes denormals to zero, which no GEMM here can tell apart).
void to_bf16_row(const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16) {
    const __m256bh half = _mm512_cvtneps_pbh(_mm512_loadu_ps(in + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), std::bit_cast<__m256i>(half));
  }
#endif
  for (; i < n; ++i) out[i] = to_bf16(in[i]);
}

// Copies a stored rows x columns slice (leading dimension ld) into dense bf16, transposed when
// `transpose` (the copy is then columns x rows): tile by tile, converted along the contiguous
// stored rows, then written out transposed.
void to_bf16_slice(const float* source, std::size_t ld, std::size_t rows, std::size_t columns,
                   bool transpose, std::uint16_t* target) {
  if (!transpose) {
    for (std::size_t row = 0; row < rows; ++row)
      to_bf16_row(source + row * ld, target + row * columns, columns);
    return;
  }
  constexpr std::size_t kTile = 32;
  std::uint16_t tile[kTile * kTile];
  for (std::size_t row_begin = 0; row_begin < rows; row_begin += kTile) {
    const std::size_t tile_rows = std::min(kTile, rows - row_begin);
    for (std::size_t column_begin = 0; column_begin < columns; column_begin += kTile) {
      const std::size_t tile_columns = std::min(kTile, columns - column_begin);
      for (std::size_t r = 0; r < tile_rows; ++r)
        to_bf16_row(source + (row_begin + r) * ld + column_begin, tile + r * kTile, tile_columns);
      for (std::size_t c = 0; c < tile_columns; ++c) {
        std::uint16_t* out = target + (column_begin + c) * rows + row_begin;
        for (std::size_t r = 0; r < tile_rows; ++r) out[r] = tile[r * kTile + c];
      }
    }
  }
}

// The reduction over K runs in chunks of at most this many, each converted just before its
// matmul, so the bf16 copies (and oneDNN's packed copy of B) stay a few MB per thread instead of
// whole operands. The chunking depends on K only: results stay thread-count independent.
constexpr std::size_t kMaxChunk = 512;

std::size_t chunk_length(std::size_t k) {
  const std::size_t chunks = (k + kMaxChunk - 1) / kMaxChunk;
  return (k + chunks - 1) / chunks;
}

// One block's matmul shape, strides and scaling: the key of the primitive cache.
struct BlockKey {
  memory::dim rows, columns, depth;
  memory::dim a_row_stride, a_depth_stride, b_depth_stride, b_column_stride, ldc;
  float alpha, beta;
  // The defaulted <=> compares each member's result with a literal 0, which clang-tidy 14 takes
  // for a null pointer (llvm/llvm-project#53961, fixed in clang-tidy 18).
  // NOLINTNEXTLINE(modernize-use-nullptr)
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

// A rows x depth slice of op(A) in bf16, row-major with row stride `stride`.
struct ASliceView {
  const std::uint16_t* rows;
  std::size_t stride;
};

// The body shared by gemm_bf16 and gemm_bf16_prepared: row or column blocks of C as gemm()
// splits them (or one block without `split`), the reduction in K-chunks of `chunk`. `a_slice(row,
// rows, k_begin, depth, scratch)` returns the bf16 rows x depth slice of op(A) (row-major) and its
// row stride: a converted copy in `scratch`, or a view into operands already in bf16. Blocks and
// K-chunks depend on the shape only: results do not depend on the thread count.
template <typename ASlice>
void blocked_bf16(Transpose trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const ASlice& a_slice, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, std::size_t chunk, bool split) {
  if (m == 0 || n == 0) return;
  const bool b_plain = trans_b == Transpose::no;
  const auto block = [&](std::size_t row, std::size_t rows, std::size_t column,
                         std::size_t columns) {
    // Each thread converts the slices its block needs; op(B) keeps its stored orientation.
    thread_local std::vector<std::uint16_t> a_scratch, b_slice;
    if (b_slice.size() < columns * chunk) b_slice.resize(columns * chunk);
    for (std::size_t k_begin = 0; k_begin < k; k_begin += chunk) {
      const std::size_t depth = std::min(chunk, k - k_begin);
      const auto [a_rows, a_stride] = a_slice(row, rows, k_begin, depth, a_scratch);
      if (b_plain) {
        to_bf16_slice(b + k_begin * ldb + column, ldb, depth, columns, false, b_slice.data());
      } else {
        to_bf16_slice(b + column * ldb + k_begin, ldb, columns, depth, false, b_slice.data());
      }
      const BlockKey key{dim(rows),
                         dim(columns),
                         dim(depth),
                         dim(a_stride),
                         1,
                         b_plain ? dim(columns) : 1,
                         b_plain ? 1 : dim(depth),
                         dim(ldc),
                         alpha,
                         k_begin == 0 ? beta : 1.0f};
      run_block(key, a_rows, b_slice.data(), c + row * ldc + column);
    }
  };
  if (split) {
    gemm_blocking::for_each_block(m, n, k, block);
  } else {
    block(0, m, 0, n);
  }
}

}  // namespace

bool bf16_gemm_has_amx() {
  // The ISA oneDNN dispatches to, which ONEDNN_MAX_CPU_ISA can lower (to measure without AMX).
  static const bool amx = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto needed = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_amx);
    return (isa & needed) == needed;
  }();
  return amx;
}

void to_bf16(const float* values, std::uint16_t* bits, std::size_t count) {
  to_bf16_row(values, bits, count);
}

void gemm_bf16(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
               float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
               float beta, float* c, std::size_t ldc) {
  // op(A) is copied row-major (rows x depth): oneDNN's fast bf16 kernel (brgemm) wants its
  // source that way and otherwise falls back to a slower one.
  const auto convert = [&](std::size_t row, std::size_t rows, std::size_t k_begin,
                           std::size_t depth, std::vector<std::uint16_t>& scratch) {
    if (scratch.size() < rows * depth) scratch.resize(rows * depth);
    if (trans_a == Transpose::no) {
      to_bf16_slice(a + row * lda + k_begin, lda, rows, depth, false, scratch.data());
    } else {
      to_bf16_slice(a + k_begin * lda + row, lda, depth, rows, true, scratch.data());
    }
    return ASliceView{scratch.data(), depth};
  };
  blocked_bf16(trans_b, m, n, k, alpha, convert, b, ldb, beta, c, ldc, chunk_length(k), true);
}

void gemm_bf16_prepared(Transpose trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                        const std::uint16_t* a, std::size_t lda, const float* b, std::size_t ldb,
                        float beta, float* c, std::size_t ldc) {
  const auto view = [&](std::size_t row, std::size_t, std::size_t k_begin, std::size_t,
                        std::vector<std::uint16_t>&) {
    return ASliceView{a + row * lda + k_begin, lda};
  };
  // One chunk: A needs no conversion scratch, and a slice of it would not be dense (oneDNN
  // runs strided sources on its slower gemm:jit kernel instead of brgemm).
  blocked_bf16(trans_b, m, n, k, alpha, view, b, ldb, beta, c, ldc, k, false);
}

}  // namespace homeostat
