// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as an .npz file, through the ZIP reader, each member's .npy
// header and data, and the state reader.  Anything but a clean bnorm::error is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/byte_source.hpp"
#include "formats/npz.hpp"
#include "state_tensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto bytes = bnorm::byte_source::from_memory(
        "fuzz.npz", std::string(reinterpret_cast<const char*>(data), size));
    const auto archive = bnorm::open_npz(std::move(bytes));
    for (const std::string& name : archive->names()) {
      try {
        const auto source = archive->open(name);
        // The reader has checked the size against the member; keep each run small anyway.
        if (source->info().size_in_bytes() > (1u << 20)) continue;
        std::vector<double> values(source->info().element_count());
        source->read_at(0, values);
      } catch (const bnorm::error&) {
      }
    }
    bnorm::read_state_tensors(*archive, "");
  } catch (const bnorm::error&) {
  }
  return 0;
}
