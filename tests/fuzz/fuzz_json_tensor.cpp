// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary text as a JSON tensor.  A tensor that parses must write back as
// text that parses to the same shape and values.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "error.hpp"
#include "formats/json_tensor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bnorm::json_tensor tensor;
  try {
    tensor = bnorm::parse_json_tensor(text);
  } catch (const bnorm::error&) {
    return 0;
  }
  std::string written;
  bnorm::append_json_tensor(written, tensor.values.data(), tensor.shape, bnorm::dtype::float64());
  const bnorm::json_tensor again = bnorm::parse_json_tensor(written);  // must not throw
  if (again.shape != tensor.shape || again.values.size() != tensor.values.size()) std::abort();
  for (std::size_t i = 0; i < tensor.values.size(); ++i) {
    const double a = tensor.values[i], b = again.values[i];
    if (!(a == b || (std::isnan(a) && std::isnan(b)))) std::abort();
  }
  return 0;
}
