// SPDX-License-Identifier: Apache-2.0
// Batch normalization through the in-memory API, against the formulas of BN-SEMANTICS.md
// computed here with xtensor: xt::mean over every axis but the channel axis, and the variance
// as the mean of squared deviations from it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "batch_norm.hpp"
#include "error.hpp"
#include "in_memory.hpp"

using bnorm::bn_config;
using bnorm::bn_mode;
using bnorm::bn_state;
using bnorm::channel_moments;
using bnorm::data_error;
using bnorm::usage_error;

namespace {

xt::xarray<double> random_tensor(std::vector<std::size_t> shape, unsigned seed, double mean = 0,
                                 double stddev = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, stddev);
  xt::xarray<double> x = xt::zeros<double>(shape);
  for (double& v : x) v = normal(rng);
  return x;
}

std::vector<double> to_vector(const xt::xarray<double>& a) {
  return {a.begin(), a.end()};
}

// A per-channel vector shaped to broadcast against an (N, C, L) tensor.
auto as_ncl(const xt::xarray<double>& v) {
  return xt::view(v, xt::newaxis(), xt::all(), xt::newaxis());
}

// ... and against an (N, H, C) tensor (channels last).
auto as_nhc(const xt::xarray<double>& v) {
  return xt::view(v, xt::newaxis(), xt::newaxis(), xt::all());
}

// Biased variances per channel.  (xt::variance of xtensor 0.24.3 is not used: over two axes of
// a rank-3 array it sized its result from an uninitialized shape, std::bad_array_new_length.)
xt::xarray<double> var_ncl(const xt::xarray<double>& x, const xt::xarray<double>& mean) {
  return xt::mean(xt::square(x - as_ncl(mean)), {0, 2});
}
xt::xarray<double> var_nhc(const xt::xarray<double>& x, const xt::xarray<double>& mean) {
  return xt::mean(xt::square(x - as_nhc(mean)), {0, 1});
}
xt::xarray<double> var_nc(const xt::xarray<double>& x, const xt::xarray<double>& mean) {
  return xt::mean(xt::square(x - mean), {0});
}

double max_abs_diff(const xt::xarray<double>& a, const xt::xarray<double>& b) {
  REQUIRE(a.shape() == b.shape());
  return xt::amax(xt::abs(a - b))();
}

void check_close(const std::vector<double>& actual, const std::vector<double>& expected,
                 double rel = 1e-13) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(rel));
  }
}

const bnorm::convention& conv(const char* name) {
  return bnorm::find_convention(name);
}

}  // namespace

TEST_CASE("default_config takes each convention's eps, momentum and axis") {
  const bn_config torch = bnorm::default_config(conv("torch"));
  CHECK(torch.conv == &conv("torch"));
  CHECK(torch.eps == 1e-5);
  CHECK(torch.momentum == 0.1);
  CHECK(torch.axis == 1);
  CHECK(torch.mode == bn_mode::train);
  CHECK(torch.affine);
  CHECK(torch.track_running_stats);
  const bn_config keras = bnorm::default_config(conv("keras"));
  CHECK(keras.eps == 1e-3);
  CHECK(keras.momentum == 0.99);
  CHECK(keras.axis == -1);
  const bn_config onnx = bnorm::default_config(conv("onnx"));
  CHECK(onnx.eps == 1e-5);
  CHECK(onnx.momentum == 0.9);
  CHECK(onnx.axis == 1);
}

TEST_CASE("torch training normalizes with the biased batch variance and feeds the unbiased one") {
  const xt::xarray<double> x = random_tensor({4, 3, 5}, 1, 2.0, 3.0);
  const xt::xarray<double> mean = xt::mean(x, {0, 2});
  const xt::xarray<double> var = var_ncl(x, mean);     // biased
  const xt::xarray<double> var_u = var * (20.0 / 19);  // unbiased: n = 4 · 5 values per channel
  const xt::xarray<double> w = {0.5, -2.0, 1.5};
  const xt::xarray<double> b = {0.25, 1.0, -3.0};
  bn_state state{to_vector(w), to_vector(b), {0.1, 0.2, 0.3}, {1.5, 2.5, 0.5}, 7};
  const bn_state before = state;
  const bn_config config = bnorm::default_config(conv("torch"));
  std::vector<channel_moments> batch;
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state, &batch);

  const xt::xarray<double> expected =
      (x - as_ncl(mean)) / xt::sqrt(as_ncl(var) + 1e-5) * as_ncl(w) + as_ncl(b);
  CHECK(max_abs_diff(y, expected) < 1e-13);

  REQUIRE(batch.size() == 3);
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(batch[c].count == 20);
    CHECK(batch[c].mean == doctest::Approx(mean(c)).epsilon(1e-14));
    CHECK(batch[c].var() == doctest::Approx(var(c)).epsilon(1e-13));
    CHECK(batch[c].var_unbiased() == doctest::Approx(var_u(c)).epsilon(1e-13));
  }
  // new = (1 − m)·old + m·batch with m = 0.1, running_var fed σ²·n/(n−1)
  std::vector<double> rm(3), rv(3);
  for (std::size_t c = 0; c < 3; ++c) {
    rm[c] = 0.9 * before.running_mean[c] + 0.1 * mean(c);
    rv[c] = 0.9 * before.running_var[c] + 0.1 * var_u(c);
  }
  check_close(state.running_mean, rm);
  check_close(state.running_var, rv);
  CHECK(state.num_batches_tracked == 8);
  CHECK(state.weight == before.weight);
  CHECK(state.bias == before.bias);
}

TEST_CASE("an empty state starts from PyTorch's initial values") {
  const xt::xarray<double> x = random_tensor({6, 2}, 2);
  const xt::xarray<double> mean = xt::mean(x, {0});
  const xt::xarray<double> var = var_nc(x, mean);
  const xt::xarray<double> var_u = var * (6.0 / 5);
  bn_state state;
  const xt::xarray<double> y = bnorm::batch_norm(x, bnorm::default_config(conv("torch")), state);
  const xt::xarray<double> expected = (x - mean) / xt::sqrt(var + 1e-5);  // weight 1, bias 0
  CHECK(max_abs_diff(y, expected) < 1e-13);
  CHECK(state.weight == std::vector<double>{1, 1});
  CHECK(state.bias == std::vector<double>{0, 0});
  check_close(state.running_mean, {0.1 * mean(0), 0.1 * mean(1)});
  check_close(state.running_var, {0.9 + 0.1 * var_u(0), 0.9 + 0.1 * var_u(1)});
  CHECK(state.num_batches_tracked == 1);
}

TEST_CASE("eval mode normalizes with the running statistics and leaves the state alone") {
  const xt::xarray<double> x = random_tensor({3, 2, 4}, 3);
  const xt::xarray<double> rm = {0.5, -1.0};
  const xt::xarray<double> rv = {4.0, 0.25};
  const xt::xarray<double> w = {2.0, 3.0};
  const xt::xarray<double> b = {-1.0, 0.5};
  bn_state state{to_vector(w), to_vector(b), to_vector(rm), to_vector(rv), 5};
  const bn_state before = state;
  bn_config config = bnorm::default_config(conv("torch"));
  config.mode = bn_mode::eval;
  std::vector<channel_moments> batch;
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state, &batch);
  const xt::xarray<double> expected =
      (x - as_ncl(rm)) / xt::sqrt(as_ncl(rv) + 1e-5) * as_ncl(w) + as_ncl(b);
  CHECK(max_abs_diff(y, expected) < 1e-13);
  CHECK(state.running_mean == before.running_mean);
  CHECK(state.running_var == before.running_var);
  CHECK(state.num_batches_tracked == 5);
  SUBCASE("batch statistics are still gathered when asked for") {
    const xt::xarray<double> mean = xt::mean(x, {0, 2});
    REQUIRE(batch.size() == 2);
    CHECK(batch[0].mean == doctest::Approx(mean(0)).epsilon(1e-14));
    CHECK(batch[1].mean == doctest::Approx(mean(1)).epsilon(1e-14));
    CHECK(batch[0].count == 12);
  }
}

TEST_CASE("affine off ignores weight and bias") {
  const xt::xarray<double> x = random_tensor({5, 3}, 4);
  const xt::xarray<double> mean = xt::mean(x, {0});
  const xt::xarray<double> var = var_nc(x, mean);
  bn_state state;
  state.weight = {9, 9, 9};
  state.bias = {9, 9, 9};
  bn_config config = bnorm::default_config(conv("torch"));
  config.affine = false;
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state);
  CHECK(max_abs_diff(y, (x - mean) / xt::sqrt(var + 1e-5)) < 1e-13);
  CHECK(state.weight == std::vector<double>{1, 1, 1});
  CHECK(state.bias == std::vector<double>{0, 0, 0});
}

TEST_CASE("momentum none is a cumulative average over the steps (PyTorch momentum=None)") {
  bn_config config = bnorm::default_config(conv("torch"));
  config.momentum = std::nullopt;
  bn_state state;  // running_mean 0 and running_var 1 are replaced by the first batch
  std::vector<double> mean_sum(3, 0), var_sum(3, 0);
  for (unsigned step = 0; step < 3; ++step) {
    const xt::xarray<double> x = random_tensor({4, 3, 2}, 10 + step, step * 1.5, 1.0 + step);
    const xt::xarray<double> mean = xt::mean(x, {0, 2});
    const xt::xarray<double> var_u = var_ncl(x, mean) * (8.0 / 7);
    for (std::size_t c = 0; c < 3; ++c) {
      mean_sum[c] += mean(c);
      var_sum[c] += var_u(c);
    }
    bnorm::batch_norm(x, config, state);
    CHECK(state.num_batches_tracked == step + 1);
    const double steps = step + 1.0;
    check_close(state.running_mean, {mean_sum[0] / steps, mean_sum[1] / steps, mean_sum[2] / steps},
                1e-12);
    check_close(state.running_var, {var_sum[0] / steps, var_sum[1] / steps, var_sum[2] / steps},
                1e-12);
  }
}

TEST_CASE("keras: momentum weights the old value, running_var is fed the biased variance") {
  // Channels last, (N, H, C): statistics over axes 0 and 1.
  const xt::xarray<double> x = random_tensor({5, 2, 3}, 5, -1.0, 0.5);
  const xt::xarray<double> mean = xt::mean(x, {0, 1});
  const xt::xarray<double> var = var_nhc(x, mean);
  const xt::xarray<double> gamma = {1.5, 0.5, -1.0};
  const xt::xarray<double> beta = {0.0, 2.0, 1.0};
  bn_state state{to_vector(gamma), to_vector(beta), {0.5, -1.0, 2.0}, {2.0, 0.5, 1.0}, 0};
  const bn_state before = state;
  const bn_config config = bnorm::default_config(conv("keras"));
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state);
  const xt::xarray<double> expected =
      (x - as_nhc(mean)) / xt::sqrt(as_nhc(var) + 1e-3) * as_nhc(gamma) + as_nhc(beta);
  CHECK(max_abs_diff(y, expected) < 1e-13);
  std::vector<double> rm(3), rv(3);
  for (std::size_t c = 0; c < 3; ++c) {
    rm[c] = 0.99 * before.running_mean[c] + 0.01 * mean(c);
    rv[c] = 0.99 * before.running_var[c] + 0.01 * var(c);
  }
  check_close(state.running_mean, rm);
  check_close(state.running_var, rv);
}

TEST_CASE("onnx: momentum 0.9 weights the old value, running_var is fed the biased variance") {
  const xt::xarray<double> x = random_tensor({6, 4}, 6, 3.0, 2.0);
  const xt::xarray<double> mean = xt::mean(x, {0});
  const xt::xarray<double> var = var_nc(x, mean);
  bn_state state{{}, {}, {1, 2, 3, 4}, {1, 1, 2, 2}, 0};
  const bn_state before = state;
  const xt::xarray<double> y = bnorm::batch_norm(x, bnorm::default_config(conv("onnx")), state);
  CHECK(max_abs_diff(y, (x - mean) / xt::sqrt(var + 1e-5)) < 1e-13);
  std::vector<double> rm(4), rv(4);
  for (std::size_t c = 0; c < 4; ++c) {
    rm[c] = 0.9 * before.running_mean[c] + 0.1 * mean(c);
    rv[c] = 0.9 * before.running_var[c] + 0.1 * var(c);
  }
  check_close(state.running_mean, rm);
  check_close(state.running_var, rv);
}

TEST_CASE("a momentum number means what its convention says") {
  // 0.3 under torch weights the batch by 0.3; under keras and onnx it weights the old value.
  const xt::xarray<double> x = {{1.0, 10.0}, {3.0, 30.0}};  // means 2, 20; biased var 1, 100
  for (const char* name : {"torch", "keras", "onnx"}) {
    CAPTURE(name);
    bn_config config = bnorm::default_config(conv(name));
    config.axis = 1;
    config.momentum = 0.3;
    bn_state state{{}, {}, {0, 0}, {1, 1}, 0};
    bnorm::batch_norm(x, config, state);
    const bool torch = std::string(name) == "torch";
    const double batch_weight = torch ? 0.3 : 0.7;
    // torch feeds the unbiased variance: n = 2, so 2 and 200
    const double v0 = torch ? 2.0 : 1.0, v1 = torch ? 200.0 : 100.0;
    check_close(state.running_mean, {batch_weight * 2, batch_weight * 20});
    check_close(state.running_var,
                {(1 - batch_weight) + batch_weight * v0, (1 - batch_weight) + batch_weight * v1});
  }
}

TEST_CASE("one value per channel: an error under torch, var 0 and y == beta under keras") {
  const xt::xarray<double> x = {{3.0, -7.5, 1e10}};  // shape (1, 3)
  SUBCASE("torch refuses training with PyTorch's message") {
    bn_state state;
    CHECK_THROWS_WITH_AS(
        bnorm::batch_norm(x, bnorm::default_config(conv("torch")), state),
        "input: Expected more than 1 value per channel when training, got input size (1, 3) "
        "(the torch convention refuses this; keras and onnx give var 0)",
        data_error);
  }
  SUBCASE("torch in eval mode with running statistics is fine") {
    bn_config config = bnorm::default_config(conv("torch"));
    config.mode = bn_mode::eval;
    bn_state state{{}, {}, {3, 0, 0}, {1, 1, 1}, 0};
    const xt::xarray<double> y = bnorm::batch_norm(x, config, state);
    CHECK(y(0, 0) == 0.0);
  }
  SUBCASE("keras allows it: the output is exactly beta") {
    bn_config config = bnorm::default_config(conv("keras"));
    config.axis = 1;
    bn_state state{{2.0, 0.5, 4.0}, {0.25, -1.5, 3.0}, {}, {}, 0};
    std::vector<channel_moments> batch;
    const xt::xarray<double> y = bnorm::batch_norm(x, config, state, &batch);
    CHECK(y(0, 0) == 0.25);
    CHECK(y(0, 1) == -1.5);
    CHECK(y(0, 2) == 3.0);
    CHECK(batch[2].var() == 0.0);
    // moving_variance = 0.99 · 1 + 0.01 · 0; moving_mean = 0.01 · x
    check_close(state.running_var, {0.99, 0.99, 0.99});
    check_close(state.running_mean, {0.03, -0.075, 1e8});
  }
  SUBCASE("onnx allows it too") {
    bn_state state;
    const xt::xarray<double> y = bnorm::batch_norm(x, bnorm::default_config(conv("onnx")), state);
    CHECK(y == xt::xarray<double>{{0.0, 0.0, 0.0}});
  }
}

TEST_CASE("a NaN poisons its own channel only, as in PyTorch") {
  const xt::xarray<double> x = {{1.0, 5.0}, {std::nan(""), 6.0}, {3.0, 7.0}};
  bn_state state;
  std::vector<channel_moments> batch;
  const xt::xarray<double> y =
      bnorm::batch_norm(x, bnorm::default_config(conv("torch")), state, &batch);
  for (std::size_t n = 0; n < 3; ++n) CHECK(std::isnan(y(n, 0)));
  // channel 1: 5, 6, 7 has mean 6 and biased variance 2/3
  const double invstd = 1 / std::sqrt(2.0 / 3.0 + 1e-5);
  CHECK(y(0, 1) == doctest::Approx(-invstd).epsilon(1e-14));
  CHECK(y(1, 1) == 0.0);
  CHECK(y(2, 1) == doctest::Approx(invstd).epsilon(1e-14));
  CHECK(batch[0].nonfinite == 1);
  CHECK(std::isnan(state.running_mean[0]));
  CHECK(std::isnan(state.running_var[0]));
  CHECK(state.running_mean[1] == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(state.running_var[1] == doctest::Approx(0.9 + 0.1 * 1.0).epsilon(1e-15));
}

TEST_CASE("a constant channel normalizes to exactly beta") {
  const xt::xarray<double> x = {{0.1, 5.0}, {0.1, 6.0}, {0.1, 7.0}};
  bn_state state{{3.0, 1.0}, {0.75, 0.0}, {}, {}, 0};
  const xt::xarray<double> y = bnorm::batch_norm(x, bnorm::default_config(conv("torch")), state);
  CHECK(y(0, 0) == 0.75);
  CHECK(y(1, 0) == 0.75);
  CHECK(y(2, 0) == 0.75);
}

TEST_CASE("a large offset does not cost precision: 1e4 + 0.01·N(0,1)") {
  xt::xarray<double> x = random_tensor({2000, 1}, 8, 0.0, 1.0);
  const xt::xarray<double> z = xt::eval(x);
  x = 1e4 + 0.01 * x;
  bn_state state;
  bn_config config = bnorm::default_config(conv("torch"));
  config.eps = 0;
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state);
  // y is z standardized; 1e4 + 0.01·z in double keeps ~1e-14 of z's digits.
  const double z_mean = xt::mean(z)();
  const double z_var = xt::mean(xt::square(z - z_mean))();
  const xt::xarray<double> z_std = (z - z_mean) / std::sqrt(z_var);
  CHECK(max_abs_diff(y, z_std) < 1e-9);
}

TEST_CASE("no tracked running statistics: batch statistics in eval mode too") {
  const xt::xarray<double> x = random_tensor({4, 2, 3}, 9);
  bn_config train = bnorm::default_config(conv("torch"));
  train.track_running_stats = false;
  bn_config eval = train;
  eval.mode = bn_mode::eval;
  bn_state s_train, s_eval;
  const xt::xarray<double> y_train = bnorm::batch_norm(x, train, s_train);
  const xt::xarray<double> y_eval = bnorm::batch_norm(x, eval, s_eval);
  CHECK(y_eval == y_train);
  const xt::xarray<double> mean = xt::mean(x, {0, 2});
  const xt::xarray<double> var = var_ncl(x, mean);
  CHECK(max_abs_diff(y_eval, (x - as_ncl(mean)) / xt::sqrt(as_ncl(var) + 1e-5)) < 1e-13);
  CHECK(s_eval.running_mean.empty());
  CHECK(s_eval.running_var.empty());
  CHECK(s_train.running_mean.empty());
  CHECK(s_train.num_batches_tracked == 0);
  SUBCASE("so the one-value error fires in eval mode as well") {
    bn_state state;
    CHECK_THROWS_AS(bnorm::batch_norm(xt::xarray<double>{{1.0, 2.0}}, eval, state), data_error);
  }
}

TEST_CASE("eval mode without running statistics is a usage error") {
  const xt::xarray<double> x = random_tensor({2, 2}, 11);
  bn_config config = bnorm::default_config(conv("torch"));
  config.mode = bn_mode::eval;
  const char* message =
      "eval mode normalizes with running_mean and running_var, and the state has none";
  bn_state empty;
  CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, empty), message, usage_error);
  bn_state mean_only{{}, {}, {0, 0}, {}, 0};
  CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, mean_only), message, usage_error);
  bn_state var_only{{}, {}, {}, {1, 1}, 0};
  CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, var_only), message, usage_error);
}

TEST_CASE("a state inconsistent with the input is a data error") {
  const xt::xarray<double> x = random_tensor({4, 3}, 12);
  const bn_config config = bnorm::default_config(conv("torch"));
  SUBCASE("lengths") {
    bn_state w{{1, 1}, {}, {}, {}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, w),
                         "state: weight has 2 values, but the input has 3 channels", data_error);
    bn_state b{{}, {0, 0, 0, 0}, {}, {}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, b),
                         "state: bias has 4 values, but the input has 3 channels", data_error);
    bn_state rm{{}, {}, {0}, {1, 1, 1}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, rm),
                         "state: running_mean has 1 value, but the input has 3 channels",
                         data_error);
    bn_state rv{{}, {}, {0, 0, 0}, {1, 1}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, rv),
                         "state: running_var has 2 values, but the input has 3 channels",
                         data_error);
  }
  SUBCASE("negative running_var") {
    bn_state s{{}, {}, {0, 0, 0}, {1, -0.5, 1}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s),
                         "state: running_var[1] is negative (-0.5)", data_error);
  }
  SUBCASE("running statistics that are NaN or infinite") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    bn_state s{{}, {}, {0, 0, 0}, {1, nan, 1}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s), "state: running_var[1] is NaN (NaN)",
                         data_error);
    s.running_var = {1, 1, inf};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s),
                         "state: running_var[2] is infinite (Infinity)", data_error);
    s.running_var = {1, 1, 1};
    s.running_mean = {-inf, 0, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s),
                         "state: running_mean[0] is infinite (-Infinity)", data_error);
  }
  SUBCASE("a tiny negative running_var is printed exactly") {
    bn_state s{{}, {}, {0, 0, 0}, {1, -1e-300, 1}, 0};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s),
                         "state: running_var[1] is negative (-1e-300)", data_error);
  }
  SUBCASE("negative num_batches_tracked") {
    bn_state s{{}, {}, {}, {}, -1};
    CHECK_THROWS_WITH_AS(bnorm::batch_norm(x, config, s), "state: num_batches_tracked is negative",
                         data_error);
  }
}

TEST_CASE("plan_batch_norm refuses inputs that are not a batch, naming the input") {
  const bn_config config = bnorm::default_config(conv("torch"));
  const auto plan = [&](std::vector<std::size_t> shape, long long axis = 1) {
    bn_config c = config;
    c.axis = axis;
    return bnorm::plan_batch_norm({bnorm::dtype::float32(), std::move(shape), false}, c, {}, false,
                                  "x.npy", "s.json");
  };
  CHECK_THROWS_WITH_AS(
      plan({6}), "x.npy: a batch needs at least 2 dimensions (batch and channel), got shape (6,)",
      data_error);
  CHECK_THROWS_WITH_AS(
      plan({}), "x.npy: a batch needs at least 2 dimensions (batch and channel), got shape ()",
      data_error);
  CHECK_NOTHROW(plan({0, 3}));  // an empty batch is a batch, as in PyTorch
  CHECK_THROWS_WITH_AS(plan({4, 0}),
                       "x.npy: no channels: the channel axis 1 of shape (4, 0) has size 0",
                       data_error);
  CHECK_THROWS_WITH_AS(plan({4, 3}, 2),
                       "x.npy: axis 2 is outside a tensor of rank 2 (shape (4, 3))", data_error);
  CHECK_THROWS_WITH_AS(
      bnorm::plan_batch_norm({bnorm::dtype::float32(), {4, 3}, false}, config,
                             bn_state{{1}, {}, {}, {}, 0}, false, "x.npy", "s.json"),
      "s.json: weight has 1 value, but the input has 3 channels", data_error);
  const std::vector<bnorm::channel_moments> one_channel(1, bnorm::channel_moments{2, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(bnorm::plan_batch_norm({bnorm::dtype::float32(), {4, 3}, false}, config, {},
                                              false, "x.npy", "s.json", &one_channel, "m.json"),
                       "m.json: 1 channel, but the input has 3", data_error);
}

TEST_CASE("plan_batch_norm completes the state and decides the passes") {
  bn_config config = bnorm::default_config(conv("torch"));
  const bnorm::tensor_info info{bnorm::dtype::float32(), {8, 3, 2}, false};
  const bnorm::bn_plan train = bnorm::plan_batch_norm(info, config, {}, false);
  CHECK(train.layout.channels == 3);
  CHECK(train.layout.count_per_channel() == 16);
  CHECK(train.normalize_with_batch_stats);
  CHECK(train.collect_batch_stats);
  CHECK(train.state.running_var == std::vector<double>{1, 1, 1});
  config.mode = bn_mode::eval;
  const bn_state given{{}, {}, {0, 0, 0}, {1, 1, 1}, 0};
  const bnorm::bn_plan eval = bnorm::plan_batch_norm(info, config, given, false);
  CHECK_FALSE(eval.normalize_with_batch_stats);
  CHECK_FALSE(eval.collect_batch_stats);
  CHECK(bnorm::plan_batch_norm(info, config, given, true).collect_batch_stats);
}

TEST_CASE("update_running_stats changes nothing outside tracked training") {
  bn_config config = bnorm::default_config(conv("torch"));
  const bn_state state{{1}, {0}, {0.5}, {2.0}, 4};
  channel_moments m;
  m.count = 10;
  m.mean = 3;
  m.m2 = 9;
  config.mode = bn_mode::eval;
  const bn_state after_eval = bnorm::update_running_stats(config, state, {m});
  CHECK(after_eval.running_mean == state.running_mean);
  CHECK(after_eval.num_batches_tracked == 4);
  config.mode = bn_mode::train;
  config.track_running_stats = false;
  CHECK(bnorm::update_running_stats(config, state, {m}).num_batches_tracked == 4);
  config.track_running_stats = true;
  const bn_state trained = bnorm::update_running_stats(config, state, {m});
  CHECK(trained.num_batches_tracked == 5);
  check_close(trained.running_mean, {0.9 * 0.5 + 0.1 * 3});
  check_close(trained.running_var, {0.9 * 2.0 + 0.1 * 1.0});  // 9 / (10 − 1)
}

TEST_CASE("Fortran-order input is normalized per channel in file order") {
  // x (4, 3) in C order; the same tensor in Fortran order lists column after column.
  const xt::xarray<double> x = random_tensor({4, 3}, 13);
  bn_state state;
  const bn_config config = bnorm::default_config(conv("torch"));
  const xt::xarray<double> y = bnorm::batch_norm(x, config, state);

  std::vector<double> fortran;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t n = 0; n < 4; ++n) fortran.push_back(x(n, c));
  }
  const bnorm::tensor_info info{bnorm::dtype::float64(), {4, 3}, true};
  const bnorm::bn_plan plan = bnorm::plan_batch_norm(info, config, {}, false);
  auto source = bnorm::memory_source(info, fortran);
  bnorm::memory_sink sink;
  const bnorm::bn_result result = bnorm::run_batch_norm(plan, *source, sink);
  REQUIRE(sink.values().size() == 12);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t n = 0; n < 4; ++n) {
      CHECK(sink.values()[c * 4 + n] == doctest::Approx(y(n, c)).epsilon(1e-14));
    }
  }
  check_close(result.state.running_mean, state.running_mean, 1e-15);
}

TEST_CASE("tensors of many blocks are normalized across block edges") {
  SUBCASE("channels first, runs longer than a block") {
    const xt::xarray<double> x = random_tensor({2, 3, 200001}, 14, 5.0, 2.0);
    bn_state state;
    const xt::xarray<double> y = bnorm::batch_norm(x, bnorm::default_config(conv("torch")), state);
    const xt::xarray<double> mean = xt::mean(x, {0, 2});
    const xt::xarray<double> var = var_ncl(x, mean);
    CHECK(max_abs_diff(y, (x - as_ncl(mean)) / xt::sqrt(as_ncl(var) + 1e-5)) < 1e-11);
  }
  SUBCASE("channels last, runs of one value") {
    const xt::xarray<double> x = random_tensor({350001, 3}, 15, -5.0, 0.5);
    bn_state state;
    bn_config config = bnorm::default_config(conv("keras"));
    const xt::xarray<double> y = bnorm::batch_norm(x, config, state);
    const xt::xarray<double> mean = xt::mean(x, {0});
    const xt::xarray<double> var = var_nc(x, mean);
    CHECK(max_abs_diff(y, (x - mean) / xt::sqrt(var + 1e-3)) < 1e-11);
  }
}

TEST_CASE("inverse_std is PyTorch's InvStd: 0 for batch statistics with var + eps = 0") {
  const double inf = std::numeric_limits<double>::infinity();
  bn_config torch = bnorm::default_config(conv("torch"));
  torch.eps = 0;
  CHECK(bnorm::inverse_std(torch, true, 0.0) == 0.0);
  CHECK(bnorm::inverse_std(torch, false, 0.0) == inf);  // running statistics: 1/sqrt(0)
  CHECK(bnorm::inverse_std(torch, true, 4.0) == 0.5);
  bn_config keras = bnorm::default_config(conv("keras"));
  keras.eps = 0;
  CHECK(bnorm::inverse_std(keras, true, 0.0) == inf);  // Keras's rsqrt(0)
  torch.eps = 1e-5;
  CHECK(bnorm::inverse_std(torch, true, 0.0) == 1.0 / std::sqrt(1e-5));
}
