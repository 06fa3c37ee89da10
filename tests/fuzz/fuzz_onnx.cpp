// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as an ONNX model, parsed under the reader's limits and
// walked as every reader walks it (the BatchNormalization nodes, the constant value of each of
// their inputs), then opened through the codec from a pipe, as standard input would give it,
// and every tensor of the archive read.  A model from a stream has no folder: external data is
// refused, never looked for.  Anything but a clean bnorm::error is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "formats/onnx_model.hpp"
#include "formats/registry.hpp"

namespace om = bnorm::onnx_model;

namespace {

void walk_model(std::string_view bytes) {
  try {
    const om::model m = om::parse_model(bytes, "fuzz.onnx", {});
    for (const om::batch_norm_node& bn : om::batch_norm_nodes(*m.proto)) {
      const auto& node = m.proto->graph().node(bn.node);
      for (int k = 1; k < 5; ++k) {
        try {
          om::constant_values(m, node.input(k), "input");
        } catch (const bnorm::error&) {
        }
      }
    }
  } catch (const bnorm::error&) {
  }
}

void read_archive(int fd) {
  try {
    const auto archive = bnorm::codec_named("onnx")->open(
        std::make_unique<bnorm::input_file>("/dev/fd/" + std::to_string(fd)), {});
    for (const std::string& name : archive->names()) {
      const auto source = archive->open(name);
      std::vector<double> values(source->info().element_count());
      if (!values.empty()) source->read_at(0, values);
    }
  } catch (const bnorm::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  walk_model(bytes);

  // A pipe holds 64 KiB without a reader: write it all, close, then read it as /dev/fd/N.
  if (size > 60000) return 0;
  int ends[2];
  if (::pipe(ends) != 0) return 0;
  const bool written = ::write(ends[1], data, size) == static_cast<ssize_t>(size);
  ::close(ends[1]);
  if (written) read_archive(ends[0]);
  ::close(ends[0]);
  return 0;
}
