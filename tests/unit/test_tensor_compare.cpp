// SPDX-License-Identifier: Apache-2.0
// A comparison's figures when a value is NaN or infinite: mismatches as numpy.isclose counts
// them, the largest errors as torch.testing.assert_close reports them (NaN above all).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tensor_compare.hpp"

using bnorm::comparison;
using bnorm::tensor_comparator;
using bnorm::tolerance;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

comparison compare(const std::vector<double>& actual, const std::vector<double>& expected,
                   bool equal_nan = false) {
  tolerance tol;
  tol.equal_nan = equal_nan;
  tensor_comparator comparator(tol);
  comparator.add(actual, expected);
  return comparator.result();
}

}  // namespace

TEST_CASE("a NaN against a number is the largest error, where it is") {
  const comparison r = compare({1, qnan, 3, 4.5}, {1, 2, 3, 4});
  CHECK(r.mismatched == 2);
  CHECK(r.nonfinite_mismatched == 1);
  CHECK(std::isnan(r.max_abs_error));
  CHECK(r.max_abs_position == 1);
  CHECK(std::isnan(r.max_rel_error));
  REQUIRE(r.first_nonfinite);
  CHECK(r.first_nonfinite->position == 1);
  CHECK(r.first_nonfinite->expected == 2);
}

TEST_CASE("an infinity against a number or the other infinity is an infinite error") {
  for (const auto& [a, e] : {std::pair{inf, 1.0}, {-inf, inf}, {1.0, -inf}}) {
    const comparison r = compare({0.5, a}, {0.25, e});
    CHECK(r.mismatched == 2);
    CHECK(r.nonfinite_mismatched == 1);
    CHECK(r.max_abs_error == inf);
    CHECK(r.max_abs_position == 1);
  }
}

TEST_CASE("matching non-finite pairs are no error") {
  comparison r = compare({inf, -inf, 2}, {inf, -inf, 2});
  CHECK(r.mismatched == 0);
  CHECK(r.max_abs_error == 0);
  r = compare({qnan, 2}, {qnan, 2}, true);
  CHECK(r.mismatched == 0);
  CHECK(r.max_abs_error == 0);
  r = compare({qnan, 2}, {qnan, 2}, false);
  CHECK(r.mismatched == 1);
  CHECK(std::isnan(r.max_abs_error));
}

TEST_CASE("the first NaN error stays the maximum over later chunks") {
  tensor_comparator comparator{tolerance{}};
  comparator.add(std::vector<double>{1, qnan}, std::vector<double>{1, 1});
  comparator.add(std::vector<double>{inf, 1e300}, std::vector<double>{1, -1e300});
  const comparison& r = comparator.result();
  CHECK(std::isnan(r.max_abs_error));
  CHECK(r.max_abs_position == 1);
  CHECK(r.nonfinite_mismatched == 2);
}
