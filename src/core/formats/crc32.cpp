// SPDX-License-Identifier: Apache-2.0
#include "crc32.hpp"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace bnorm {

std::uint32_t crc32_of(std::uint32_t crc, const void* data, std::size_t size) {
  return static_cast<std::uint32_t>(
      crc32_z(crc, static_cast<const Bytef*>(data), static_cast<z_size_t>(size)));
}

void crc32_ranges::add(std::uint64_t first, const void* data, std::size_t size) {
  const std::uint32_t crc = crc32_of(0, data, size);
  const std::lock_guard<std::mutex> lock(mutex_);
  ranges_.push_back({first, size, crc});
}

std::uint32_t crc32_ranges::combined(std::uint32_t crc, std::uint64_t size, const char* writer) {
  std::sort(ranges_.begin(), ranges_.end(),
            [](const range& a, const range& b) { return a.first < b.first; });
  std::uint64_t covered = 0;
  for (const range& r : ranges_) {
    if (r.first != covered) throw std::logic_error(std::string(writer) + ": ranges leave a gap");
    crc = static_cast<std::uint32_t>(crc32_combine(crc, r.crc, static_cast<z_off_t>(r.size)));
    covered += r.size;
  }
  if (covered != size) throw std::logic_error(std::string(writer) + ": data incomplete");
  return crc;
}

}  // namespace bnorm
