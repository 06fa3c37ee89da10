// SPDX-License-Identifier: Apache-2.0
// The public API of include/bnorm as a consumer calls it: bnorm::half's bit patterns (IEEE
// 754's encoding), normalize() on xtensor containers and views, and its errors.  The numbers
// checked against torch are tests/cli/test_library.py's.
#include <doctest/doctest.h>

#include <bnorm/bnorm.hpp>
#include <cmath>
#include <cstdint>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

TEST_CASE("bnorm::half rounds to binary16's nearest pattern, ties to even") {
  CHECK(bnorm::half(1.0).bits == 0x3C00);
  CHECK(bnorm::half(-2.0f).bits == 0xC000);
  CHECK(bnorm::half(65504.0).bits == 0x7BFF);               // the largest finite half
  CHECK(bnorm::half(65520.0).bits == 0x7C00);               // halfway to 2^16: to even, infinity
  CHECK(bnorm::half(std::ldexp(1.0, -24)).bits == 0x0001);  // the smallest subnormal
  CHECK(bnorm::half(std::ldexp(1.0, -25)).bits == 0x0000);  // halfway to it: to even, zero
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10; a hair above it rounds up, which a detour
  // through float (rounding 1 + 2^-11 + 2^-40 to 1 + 2^-11 first) would miss.
  CHECK(bnorm::half(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)).bits == 0x3C01);
  CHECK(static_cast<double>(bnorm::half::from_bits(0x3555)) == 0x1.554p-2);
  CHECK(static_cast<float>(bnorm::half::from_bits(0x0001)) == std::ldexp(1.0f, -24));
}

TEST_CASE("bnorm::half is made from an integer, as xtensor's zeros and ones make their T") {
  CHECK(bnorm::half(1).bits == 0x3C00);
  CHECK(bnorm::half(-2).bits == 0xC000);
  CHECK(bnorm::half(2049u).bits == 0x6800);    // halfway between 2048 and 2050: to even
  CHECK(bnorm::half(65504LL).bits == 0x7BFF);  // the largest finite half
  CHECK(bnorm::half(std::int64_t{1} << 62).bits == 0x7C00);  // beyond it: infinity
  const xt::xarray<bnorm::half> zeros = xt::zeros<bnorm::half>({2, 3});
  CHECK(zeros(1, 2).bits == 0x0000);
  const xt::xarray<bnorm::half> ones = xt::ones<bnorm::half>({2});
  CHECK(ones(1).bits == 0x3C00);
}

TEST_CASE("normalize takes an xt::xtensor and a view, as an xt::xarray of their values") {
  const xt::xtensor<double, 2> x = {{1, 2}, {3, 6}};
  const bnorm::normalized<double> from_tensor = bnorm::normalize(x);
  const bnorm::normalized<double> from_array = bnorm::normalize(xt::xarray<double>(x));
  CHECK(from_tensor.output == from_array.output);
  // Each channel of two values is normalized to -1 and 1 (up to eps).
  CHECK(from_tensor.output(0, 0) == doctest::Approx(-1).epsilon(1e-5));
  CHECK(from_tensor.output(1, 1) == doctest::Approx(1).epsilon(1e-5));
  const xt::xtensor<double, 2> wide = {{1, 2, 9}, {3, 6, 9}};
  const auto view = xt::view(wide, xt::all(), xt::range(0, 2));
  CHECK(bnorm::normalize(view).output == from_array.output);
}

TEST_CASE("normalize's errors are bnorm::error's subclasses, naming what is wrong") {
  const xt::xarray<float> x = {{1, 2}, {3, 6}};
  bnorm::options eval;
  eval.mode = bnorm::mode::eval;
  CHECK_THROWS_WITH_AS(bnorm::normalize(x, eval),
                       "eval mode normalizes with running_mean and running_var, and the state "
                       "has none",
                       bnorm::usage_error);
  bnorm::layer_state three;
  three.weight = {1, 1, 1};
  CHECK_THROWS_AS(bnorm::normalize(x, {}, three), bnorm::data_error);
  CHECK_THROWS_AS(bnorm::tensor_file("/nonexistent/x.npy"), bnorm::io_error);
  CHECK_THROWS_AS(bnorm::tensor_file("x.npy", "no-such-format"), bnorm::usage_error);
}

TEST_CASE("normalize refuses an eps or a momentum no framework takes, as bnorm apply does") {
  const xt::xarray<double> x = {{1, 2}, {3, 6}};
  const auto with = [&](std::optional<double> eps, std::optional<double> momentum) {
    bnorm::options opts;
    opts.eps = eps;
    opts.momentum = momentum;
    return bnorm::normalize(x, opts);
  };
  CHECK_THROWS_WITH_AS(with(-1, {}), "eps must be a finite number at least 0, not -1",
                       bnorm::usage_error);
  CHECK_THROWS_WITH_AS(with(std::nan(""), {}), "eps must be a finite number at least 0, not NaN",
                       bnorm::usage_error);
  CHECK_THROWS_AS(with(HUGE_VAL, {}), bnorm::usage_error);
  CHECK_THROWS_WITH_AS(with({}, 1.5), "momentum must be a number in [0, 1], not 1.5",
                       bnorm::usage_error);
  CHECK_THROWS_AS(with({}, -0.1), bnorm::usage_error);
  CHECK_THROWS_AS(with({}, std::nan("")), bnorm::usage_error);
  // The ends are a framework's: eps 0, momentum 0 and 1.
  CHECK_NOTHROW(with(0, 0));
  CHECK_NOTHROW(with(1e-5, 1));
}
