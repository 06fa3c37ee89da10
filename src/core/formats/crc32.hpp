// SPDX-License-Identifier: Apache-2.0
// CRC-32 as ZIP records it (zlib's), over bytes and over ranges written in any order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace bnorm {

/// `crc` extended over `size` bytes at `data` (0 to start).
std::uint32_t crc32_of(std::uint32_t crc, const void* data, std::size_t size);

/// The CRC-32 of `data`.
inline std::uint32_t crc32_of(std::string_view data) {
  return crc32_of(0, data.data(), data.size());
}

/// The CRC-32 of data written range by range, from several threads and in any order, without
/// holding the data: each range's CRC is kept, and combined in file order at the end, which is
/// what one pass over the data gives.
class crc32_ranges {
 public:
  /// Records the range [first, first + size) and its data's CRC-32.  Safe from several threads.
  void add(std::uint64_t first, const void* data, std::size_t size);

  /// `crc` (of what precedes the data) extended over the ranges, which must cover
  /// [0, size) exactly once; throws std::logic_error naming `writer` when they do not.
  std::uint32_t combined(std::uint32_t crc, std::uint64_t size, const char* writer);

 private:
  struct range {
    std::uint64_t first;
    std::uint64_t size;
    std::uint32_t crc;
  };
  std::mutex mutex_;
  std::vector<range> ranges_;
};

}  // namespace bnorm
