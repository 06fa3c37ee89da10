// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a .npy file, through the same reader and passes that
// `bnorm apply` uses.  Anything but a clean bnorm::error is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "batch_norm.hpp"
#include "error.hpp"
#include "formats/registry.hpp"
#include "tensor_stream.hpp"

namespace {

// The reader takes a path: the input goes to a file in memory-backed /dev/shm.
const std::string& scratch_path() {
  static const std::string path = "/dev/shm/bnorm-fuzz-" + std::to_string(::getpid()) + ".npy";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(scratch_path().c_str(), "wb");
  if (!file) return 0;
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  try {
    const auto source = bnorm::open_tensor(scratch_path(), bnorm::codec_named("npy"));
    // Keep each run small: the reader has already validated the size against the file.
    if (source->info().size_in_bytes() > (1u << 20)) return 0;
    bnorm::bn_config config;
    config.axis = static_cast<long long>(size % 5) - 2;
    const bnorm::bn_plan plan = bnorm::plan_batch_norm(source->info(), config, {}, true);
    bnorm::memory_sink sink;
    bnorm::run_batch_norm(plan, *source, sink);
  } catch (const bnorm::error&) {
  }
  return 0;
}
