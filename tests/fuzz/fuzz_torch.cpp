// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a .pt file, through the ZIP reader, torch_checkpoint and
// the unpickler, then every tensor opened and read.  Anything but a clean bnorm::error is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/byte_source.hpp"
#include "formats/torch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto bytes = bnorm::byte_source::from_memory(
        "fuzz.pt", std::string(reinterpret_cast<const char*>(data), size));
    const auto archive = bnorm::open_torch(std::move(bytes));
    for (const std::string& name : archive->names()) {
      try {
        const auto source = archive->open(name);
        // The reader has checked every view against its record; keep each run small anyway
        // (an expanded view may be far larger than its record).
        if (source->info().element_count() > (1u << 18)) continue;
        std::vector<double> values(source->info().element_count());
        if (!values.empty()) source->read_at(0, values);
        if (!values.empty()) source->read_int64_at(values.size() - 1);
      } catch (const bnorm::error&) {
      }
    }
  } catch (const bnorm::error&) {
  }
  return 0;
}
