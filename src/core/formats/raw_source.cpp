// SPDX-License-Identifier: Apache-2.0
#include "raw_source.hpp"

#include <cstdint>
#include <vector>

namespace bnorm {
namespace {

class raw_tensor_source : public tensor_source {
 public:
  raw_tensor_source(std::shared_ptr<const byte_source> bytes, std::size_t offset, tensor_info info)
      : bytes_(std::move(bytes)), offset_(offset), info_(std::move(info)) {}

  const tensor_info& info() const override { return info_; }

  void read_at(std::size_t first, std::span<double> out) const override {
    const std::size_t item = info_.type.size;
    // Each thread reads into its own buffer; callers ask for cache-sized spans.
    thread_local std::vector<std::byte> raw;
    raw.resize(out.size() * item);
    bytes_->read_exact(offset_ + first * item, raw.data(), raw.size());
    decode(info_.type, raw.data(), out.size(), out.data());
  }

  std::optional<std::int64_t> read_int64_at(std::size_t index) const override {
    const dtype type = info_.type;
    if (type.kind != scalar_kind::signed_int && type.kind != scalar_kind::unsigned_int) {
      return std::nullopt;
    }
    unsigned char raw[8];
    bytes_->read_exact(offset_ + index * type.size, raw, type.size);
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < type.size; ++i) {
      const std::size_t at = type.big_endian ? i : type.size - 1 - i;
      bits = bits << 8 | raw[at];
    }
    if (type.kind == scalar_kind::unsigned_int) {
      if (bits > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(bits);
    }
    // Sign-extend from the type's width.
    const unsigned shift = 64 - 8 * unsigned{type.size};
    return static_cast<std::int64_t>(bits << shift) >> shift;
  }

 private:
  std::shared_ptr<const byte_source> bytes_;
  std::size_t offset_;
  tensor_info info_;
};

}  // namespace

std::unique_ptr<tensor_source> raw_source(std::shared_ptr<const byte_source> bytes,
                                          std::size_t offset, tensor_info info) {
  return std::make_unique<raw_tensor_source>(std::move(bytes), offset, std::move(info));
}

}  // namespace bnorm
