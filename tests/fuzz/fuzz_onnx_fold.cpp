// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as an .onnx model, folded: the reader, the graph walk (uses
// through subgraphs, producers, constants), each layer's checks and arithmetic, the removals,
// and the writer.  Anything but a clean bnorm::error is a finding.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/onnx_fold.hpp"

namespace {

// The model lies alone in a folder of its own, so that a location of external data finds
// nothing but the model itself.
const std::string& model_path() {
  static const std::string path = [] {
    char folder[] = "/tmp/bnorm-fuzz-onnx-fold-XXXXXX";
    if (!::mkdtemp(folder)) ::abort();
    return std::string(folder) + "/model.onnx";
  }();
  return path;
}

void fold(bnorm::output_file* out) {
  try {
    bnorm::fold_onnx_model(std::make_unique<bnorm::input_file>(model_path()), out);
  } catch (const bnorm::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream file(model_path(), std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  fold(nullptr);
  bnorm::output_file null_device("/dev/null");
  fold(&null_device);
  return 0;
}
