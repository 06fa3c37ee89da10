// SPDX-License-Identifier: Apache-2.0
// A test driver for update_torch_set, which no subcommand reaches on its own yet:
//   torch_update_driver ORIGINAL OUTPUT NAME=TYPE:V1,V2,... ...
// replaces (or adds) each NAME with the vector of those values as TYPE (float16, bfloat16,
// float32, float64 or int64; an int64 of one value is a scalar, as num_batches_tracked).
// tests/cli/test_torch_update.py checks what it writes with torch.
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "formats/torch_save.hpp"
#include "tensor_stream.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: torch_update_driver ORIGINAL OUTPUT NAME=TYPE:V1,V2,...\n");
    return 2;
  }
  try {
    std::vector<bnorm::named_tensor> replaced;
    for (int i = 3; i < argc; ++i) {
      const std::string arg = argv[i];
      const std::size_t equals = arg.find('=');
      const std::size_t colon = arg.find(':', equals);
      const std::string type = arg.substr(equals + 1, colon - equals - 1);
      std::vector<double> values;
      for (std::size_t at = colon + 1; at < arg.size();) {
        std::size_t end = arg.find(',', at);
        if (end == std::string::npos) end = arg.size();
        values.push_back(std::stod(arg.substr(at, end - at)));
        at = end + 1;
      }
      bnorm::tensor_info info;
      info.name = arg.substr(0, equals);
      if (type == "float16") info.type = bnorm::dtype::float16();
      if (type == "bfloat16") info.type = bnorm::dtype::bfloat16();
      if (type == "float32") info.type = bnorm::dtype::float32();
      if (type == "float64") info.type = bnorm::dtype::float64();
      if (type == "int64") info.type = {bnorm::scalar_kind::signed_int, 8, false};
      if (type != "int64" || values.size() != 1) info.shape = {values.size()};
      replaced.push_back(bnorm::make_named_tensor(info, values));
    }
    bnorm::output_file out(argv[2]);
    bnorm::update_torch_set(std::make_unique<bnorm::input_file>(argv[1]), out, std::move(replaced));
    out.commit();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torch_update_driver: %s\n", e.what());
    return 3;
  }
  return 0;
}
