// SPDX-License-Identifier: Apache-2.0
// The backward pass against finite differences of the forward pass: independent of PyTorch,
// and of how the gradient formula is written.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>
#include <xtensor/xadapt.hpp>

#include "backward.hpp"
#include "error.hpp"
#include "in_memory.hpp"

using bnorm::bn_config;
using bnorm::bn_mode;
using bnorm::bn_state;

namespace {

// Σ g·y for y = BN(x), the scalar whose derivatives the backward pass gives.
double loss(const std::vector<double>& x, const std::vector<double>& g,
            const std::vector<std::size_t>& shape, const bn_config& config, bn_state state) {
  xt::xarray<double> input = xt::adapt(x, shape);
  const xt::xarray<double> y = bnorm::batch_norm(input, config, state);
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += g[i] * y.data()[i];
  return sum;
}

struct backward_result {
  std::vector<double> grad_input;
  bnorm::bn_gradients grads;
};

backward_result backward(const std::vector<double>& x, const std::vector<double>& g,
                         const std::vector<std::size_t>& shape, const bn_config& config,
                         const bn_state& state) {
  const bnorm::tensor_info info{bnorm::dtype::float64(), shape, false};
  const bnorm::bn_plan plan = bnorm::plan_batch_norm(info, config, state, false);
  auto xs = bnorm::memory_source(info, x);
  auto gs = bnorm::memory_source(info, g);
  bnorm::memory_sink sink(x.size());
  backward_result r;
  r.grads = bnorm::run_backward(plan, *xs, *gs, sink);
  r.grad_input = sink.values();
  return r;
}

}  // namespace

TEST_CASE("grad_input and grad_weight match central differences") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::vector<std::size_t> shape{5, 3, 2};
  std::vector<double> x(30), g(30);
  for (double& v : x) v = 2 + 3 * normal(rng);
  for (double& v : g) v = normal(rng);
  bn_state state{{1.5, -0.5, 2.0}, {0.1, 0.2, 0.3}, {1.0, 2.0, 3.0}, {4.0, 9.0, 0.5}, 0};
  for (const bn_mode mode : {bn_mode::train, bn_mode::eval}) {
    CAPTURE(mode == bn_mode::train);
    bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
    config.mode = mode;
    const backward_result r = backward(x, g, shape, config, state);
    const double h = 1e-6;
    for (std::size_t i = 0; i < x.size(); ++i) {
      std::vector<double> up = x, down = x;
      up[i] += h;
      down[i] -= h;
      const double numeric =
          (loss(up, g, shape, config, state) - loss(down, g, shape, config, state)) / (2 * h);
      CHECK(r.grad_input[i] == doctest::Approx(numeric).epsilon(1e-6));
    }
    for (std::size_t c = 0; c < 3; ++c) {
      bn_state up = state, down = state;
      up.weight[c] += h;
      down.weight[c] -= h;
      const double numeric =
          (loss(x, g, shape, config, up) - loss(x, g, shape, config, down)) / (2 * h);
      CHECK(r.grads.grad_weight[c] == doctest::Approx(numeric).epsilon(1e-6));
      double sum_g = 0;
      for (std::size_t i = 0; i < x.size(); ++i) sum_g += (i / 2) % 3 == c ? g[i] : 0;
      CHECK(r.grads.grad_bias[c] == doctest::Approx(sum_g).epsilon(1e-12));
    }
  }
}

TEST_CASE("a gradient of another shape is a data error") {
  const bnorm::tensor_info info{bnorm::dtype::float64(), {2, 2}, false};
  const bnorm::bn_plan plan = bnorm::plan_batch_norm(
      info, bnorm::default_config(bnorm::find_convention("torch")), {}, false);
  auto xs = bnorm::memory_source(info, {1, 2, 3, 4});
  auto gs = bnorm::memory_source({bnorm::dtype::float64(), {4, 1}, false}, {1, 2, 3, 4});
  bnorm::memory_sink sink(4);
  CHECK_THROWS_WITH_AS(bnorm::run_backward(plan, *xs, *gs, sink, "g.npy"),
                       "g.npy: shape (4, 1) does not match the input's (2, 2)", bnorm::data_error);
}

// Regression: with running statistics grad_input = γ·invstd·g does not depend on x, but it was
// computed as γ·invstd·(g − 0 − x̂·0), NaN wherever x is NaN or ±Inf (torch's autograd gives
// the finite value).  grad_weight = Σ g·x̂ does depend on x and is NaN or ±Inf there.
TEST_CASE("with running statistics a NaN or ±Inf in x stays out of grad_input") {
  const std::vector<std::size_t> shape{4, 2};
  const double inf = HUGE_VAL;
  const std::vector<double> x{1, std::nan(""), 2, inf, 3, -inf, 4, 5};
  const std::vector<double> g{0.5, -1, 2, 0.25, -0.5, 1, 1.5, 2};
  bn_config config;
  config.mode = bn_mode::eval;
  const bn_state state{{2, -3}, {0, 1}, {0.5, -1}, {4, 0.25}, 0};
  const backward_result r = backward(x, g, shape, config, state);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i % 2;
    CAPTURE(i);
    CHECK(r.grad_input[i] ==
          doctest::Approx(state.weight[c] / std::sqrt(state.running_var[c] + 1e-5) * g[i]));
  }
  CHECK(std::isfinite(r.grads.grad_weight[0]));
  CHECK(std::isnan(r.grads.grad_weight[1]));  // NaN, +inf and −inf among channel 1's x̂
  CHECK(r.grads.grad_bias[1] == -1 + 0.25 + 1 + 2);
}
