// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a checkpoint's data.pkl, through pickle::load, and the
// tree it accepts walked to its leaves (each shared value once).  Anything but a clean
// bnorm::error is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_set>

#include "error.hpp"
#include "formats/pickle.hpp"

namespace {

std::size_t walk(const bnorm::pickle::value& v, std::unordered_set<const void*>& seen) {
  if (!seen.insert(&v).second) return 0;
  std::size_t leaves = 1;
  for (const auto& item : v.items) leaves += walk(*item, seen);
  for (const auto& [key, item] : v.entries) leaves += walk(*key, seen) + walk(*item, seen);
  if (v.state) leaves += walk(*v.state, seen);
  if (v.kind == bnorm::pickle::kind::tensor) {
    // A tensor's view as load checked it: a storage, and a stride for each dimension.
    if (!v.tensor.data || v.tensor.size.size() != v.tensor.stride.size() ||
        v.tensor.size.size() > bnorm::pickle::max_tensor_rank) {
      __builtin_trap();
    }
  }
  return leaves;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto root =
        bnorm::pickle::load(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!root) __builtin_trap();
    std::unordered_set<const void*> seen;
    walk(*root, seen);
  } catch (const bnorm::error&) {
  }
  return 0;
}
