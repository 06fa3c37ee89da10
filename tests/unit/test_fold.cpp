// SPDX-License-Identifier: Apache-2.0
// Folding eval-mode batch normalization into a weight: w·γ/√(var + eps) per output channel,
// (b − mean)·γ/√(var + eps) + β for the bias.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "error.hpp"
#include "fold.hpp"

TEST_CASE("fold scales each output channel and shifts the bias") {
  // A (2, 3) weight, output channels along axis 0; var + eps = 4 and 0.25 with eps 0.
  const bnorm::tensor_info info{bnorm::dtype::float64(), {2, 3}, false};
  auto weight = bnorm::memory_source(info, {1, 2, 3, 4, 5, 6});
  bnorm::bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
  config.eps = 0;
  const bnorm::bn_state state{{2.0, -1.0}, {0.5, 0.25}, {1.0, 3.0}, {4.0, 0.25}, 0};
  bnorm::memory_sink sink(6);
  const std::vector<double> bias =
      bnorm::fold_batch_norm(*weight, 0, {10.0, 20.0}, config, state, sink);
  // Channel 0: scale 2/2 = 1; channel 1: scale −1/0.5 = −2.
  CHECK(sink.values() == std::vector<double>{1, 2, 3, -8, -10, -12});
  CHECK(bias[0] == (10.0 - 1.0) * 1.0 + 0.5);
  CHECK(bias[1] == (20.0 - 3.0) * -2.0 + 0.25);
}

TEST_CASE("fold needs running statistics and matching lengths") {
  const bnorm::tensor_info info{bnorm::dtype::float64(), {2, 3}, false};
  auto weight = bnorm::memory_source(info, std::vector<double>(6, 1.0));
  const bnorm::bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
  bnorm::memory_sink sink(6);
  CHECK_THROWS_AS(bnorm::fold_batch_norm(*weight, 0, {}, config, {}, sink), bnorm::usage_error);
  const bnorm::bn_state state{{}, {}, {0, 0}, {1, 1}, 0};
  CHECK_THROWS_WITH_AS(bnorm::fold_batch_norm(*weight, 0, {1, 2, 3}, config, state, sink),
                       "the bias has 3 values, but weight has 2 output channels",
                       bnorm::data_error);
}
