// SPDX-License-Identifier: Apache-2.0
// Key-by-key comparison of two JSON documents (statistics or state files).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor_compare.hpp"

namespace bnorm {

/// One place where two documents differ: "running_var[2]" and what differs there.
struct document_difference {
  std::string path;
  std::string what;
};

/// Compares `actual` with `expected`: a key missing from either side is a difference; floating
/// numbers match within `tol`; integers, strings, booleans and null must be equal; arrays
/// must have the same length and match element by element.  An integer and a float compare
/// as numbers, within `tol`.
/// With `ignore_extra_keys`, keys of `actual` that `expected` lacks are not differences: a
/// golden file made by another tool may hold only some of the keys bnorm writes.
std::vector<document_difference> compare_documents(const nlohmann::ordered_json& actual,
                                                   const nlohmann::ordered_json& expected,
                                                   const tolerance& tol,
                                                   bool ignore_extra_keys = false);

}  // namespace bnorm
