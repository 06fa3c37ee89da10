// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes under a name that tells no format, so that the registry
// tells it by the first bytes and hands the file to that codec, once from a regular file and
// once from a pipe (whose peeked head must reach the reader).  Every tensor found is read.
// Anything but a clean bnorm::error is a finding.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/registry.hpp"

namespace {

const std::string& scratch_path() {
  static const std::string path = "/dev/shm/bnorm-fuzz-sniffed-" + std::to_string(::getpid());
  return path;
}

void read_every_tensor(const std::string& path) {
  try {
    const auto archive = bnorm::open_tensor_file(path);
    for (const std::string& name : archive->names()) {
      const auto source = archive->open(name);
      // Keep each run small: the reader has already checked the size against the bytes.
      if (source->info().size_in_bytes() > (1u << 20)) continue;
      std::vector<double> values(source->info().element_count());
      if (!values.empty()) source->read_at(0, values);
    }
  } catch (const bnorm::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(scratch_path().c_str(), "wb");
  if (!file) return 0;
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  read_every_tensor(scratch_path());

  // A pipe holds 64 KiB without a reader: write it all, close, then read it as /dev/fd/N.
  if (size > 60000) return 0;
  int ends[2];
  if (::pipe(ends) != 0) return 0;
  const bool written = ::write(ends[1], data, size) == static_cast<ssize_t>(size);
  ::close(ends[1]);
  if (written) read_every_tensor("/dev/fd/" + std::to_string(ends[0]));
  ::close(ends[0]);
  return 0;
}
