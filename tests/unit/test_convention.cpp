// SPDX-License-Identifier: Apache-2.0
// The conventions table against BN-SEMANTICS.md: PyTorch eps 1e-5, momentum 0.1 weighting the
// new batch, running_var fed the unbiased variance, channel axis 1, one value per channel an
// error; Keras 3 eps 1e-3, momentum 0.99 weighting the old value, biased, axis -1, allowed;
// ONNX (opset 15) eps 1e-5, momentum 0.9 weighting the old value, biased, axis 1, allowed.
#include <doctest/doctest.h>

#include <string>

#include "convention.hpp"
#include "error.hpp"

using bnorm::convention;
using bnorm::momentum_meaning;
using bnorm::running_variance;

TEST_CASE("the conventions are torch, keras, onnx, tf-fused, caffe and flax, torch first") {
  const auto all = bnorm::conventions();
  REQUIRE(all.size() == 6);
  CHECK(all[0].name == "torch");
  CHECK(all[1].name == "keras");
  CHECK(all[2].name == "onnx");
  CHECK(all[3].name == "tf-fused");
  CHECK(all[4].name == "caffe");
  CHECK(all[5].name == "flax");
}

TEST_CASE("each convention holds its framework's defaults") {
  SUBCASE("torch") {
    const convention& c = bnorm::find_convention("torch");
    CHECK(c.eps == 1e-5);
    CHECK(c.momentum == 0.1);
    CHECK(c.meaning == momentum_meaning::new_batch_weight);
    CHECK(c.axis == 1);
    CHECK(c.fed_variance == running_variance::unbiased);
    CHECK(c.single_value_is_error);
  }
  SUBCASE("keras") {
    const convention& c = bnorm::find_convention("keras");
    CHECK(c.eps == 1e-3);
    CHECK(c.momentum == 0.99);
    CHECK(c.meaning == momentum_meaning::old_value_weight);
    CHECK(c.axis == -1);
    CHECK(c.fed_variance == running_variance::biased);
    CHECK_FALSE(c.single_value_is_error);
  }
  SUBCASE("onnx") {
    const convention& c = bnorm::find_convention("onnx");
    CHECK(c.eps == 1e-5);
    CHECK(c.momentum == 0.9);
    CHECK(c.meaning == momentum_meaning::old_value_weight);
    CHECK(c.axis == 1);
    CHECK(c.fed_variance == running_variance::biased);
    CHECK_FALSE(c.single_value_is_error);
  }
  SUBCASE("tf-fused: eps 1e-3 clamped at 1.001e-5, 1 - m as exponential_avg_factor, 4-5 D") {
    const convention& c = bnorm::find_convention("tf-fused");
    CHECK(c.eps == 1e-3);
    CHECK(c.min_eps == 1.001e-5);
    CHECK(c.momentum == 0.99);
    CHECK(c.meaning == momentum_meaning::old_value_weight);
    CHECK(c.fed_variance == running_variance::unbiased_guarded);
    CHECK(c.min_rank == 4);
    CHECK(c.max_rank == 5);
  }
  SUBCASE("caffe: moving_average_fraction 0.999, no scale or shift") {
    const convention& c = bnorm::find_convention("caffe");
    CHECK(c.eps == 1e-5);
    CHECK(c.momentum == 0.999);
    CHECK(c.meaning == momentum_meaning::caffe_fraction);
    CHECK(c.axis == 1);
    CHECK(c.fed_variance == running_variance::unbiased_guarded);
    CHECK_FALSE(c.affine);
  }
  SUBCASE("flax: eps 1e-5, momentum 0.99 of the old value, axis -1, biased") {
    const convention& c = bnorm::find_convention("flax");
    CHECK(c.eps == 1e-5);
    CHECK(c.momentum == 0.99);
    CHECK(c.meaning == momentum_meaning::old_value_weight);
    CHECK(c.axis == -1);
    CHECK(c.fed_variance == running_variance::biased);
  }
}

TEST_CASE("the same behaviour, different number: PyTorch 0.1 is Keras 0.9") {
  // The weight each default gives the new batch.
  const auto new_batch_weight = [](const convention& c) {
    return c.meaning == momentum_meaning::new_batch_weight ? c.momentum : 1 - c.momentum;
  };
  CHECK(new_batch_weight(bnorm::find_convention("torch")) == doctest::Approx(0.1));
  CHECK(new_batch_weight(bnorm::find_convention("onnx")) == doctest::Approx(0.1));
  CHECK(new_batch_weight(bnorm::find_convention("keras")) == doctest::Approx(0.01));
}

TEST_CASE("find_convention returns the table's own row") {
  for (const convention& c : bnorm::conventions()) {
    CHECK(&bnorm::find_convention(c.name) == &c);
  }
}

TEST_CASE("find_convention refuses unknown names, listing the known ones") {
  const char* message =
      "unknown convention 'pytorch' (known: torch, keras, onnx, tf-fused, caffe, flax)";
  CHECK_THROWS_WITH_AS(bnorm::find_convention("pytorch"), message, bnorm::usage_error);
  CHECK_THROWS_WITH_AS(
      bnorm::find_convention("Torch"),
      "unknown convention 'Torch' (known: torch, keras, onnx, tf-fused, caffe, flax)",
      bnorm::usage_error);
  CHECK_THROWS_WITH_AS(bnorm::find_convention(""),
                       "unknown convention '' (known: torch, keras, onnx, tf-fused, caffe, flax)",
                       bnorm::usage_error);
}

TEST_CASE("describe names momentum meanings and variances in words") {
  CHECK(bnorm::describe(momentum_meaning::new_batch_weight) == "weight of the new batch");
  CHECK(bnorm::describe(momentum_meaning::old_value_weight) == "weight of the old value");
  CHECK(bnorm::describe(running_variance::unbiased) == "unbiased");
  CHECK(bnorm::describe(running_variance::biased) == "biased");
}

TEST_CASE("convert_momentum gives the new batch the same weight in the other meaning") {
  const convention& torch = bnorm::find_convention("torch");
  const convention& onnx = bnorm::find_convention("onnx");
  const convention& keras = bnorm::find_convention("keras");
  const convention& caffe = bnorm::find_convention("caffe");
  // ONNX's momentum attribute is a float32: 0.9f weighs the new batch 1 - 0.9f, exactly.
  const double onnx_default = static_cast<float>(0.9);
  CHECK(bnorm::convert_momentum(onnx_default, onnx, torch) == 1 - onnx_default);
  CHECK(bnorm::convert_momentum(0.1, torch, onnx) == 1 - 0.1);
  // The same meaning keeps the number, whichever convention speaks it.
  CHECK(bnorm::convert_momentum(onnx_default, onnx, keras) == onnx_default);
  CHECK(bnorm::convert_momentum(0.25, torch, torch) == 0.25);
  // Caffe's weight of the new batch changes from batch to batch: no constant equals it.
  CHECK_FALSE(bnorm::convert_momentum(0.9, onnx, caffe).has_value());
  CHECK_FALSE(bnorm::convert_momentum(0.999, caffe, torch).has_value());
  CHECK(bnorm::convert_momentum(0.999, caffe, caffe) == 0.999);
}
