// SPDX-License-Identifier: Apache-2.0
// State files (--state) and statistics documents (--stats-out), which must read back as states.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "error.hpp"
#include "json_document.hpp"
#include "state_file.hpp"
#include "tensor_stream.hpp"

using bnorm::bn_config;
using bnorm::bn_mode;
using bnorm::bn_state;
using bnorm::data_error;
using bnorm::parse_state;
using json = nlohmann::ordered_json;

namespace {

struct step {
  bnorm::bn_plan plan;
  bnorm::bn_result result;
};

// One step over x, in C order with shape `shape`, through the same plan and passes as files.
step run_step(const std::vector<double>& x, std::vector<std::size_t> shape, const bn_config& config,
              bn_state state = {}, bool want_batch_stats = true) {
  const bnorm::tensor_info info{bnorm::dtype::float32(), std::move(shape), false};
  step s{bnorm::plan_batch_norm(info, config, std::move(state), want_batch_stats), {}};
  auto source = bnorm::memory_source(info, x);
  bnorm::memory_sink sink;
  s.result = bnorm::run_batch_norm(s.plan, *source, sink);
  return s;
}

std::vector<std::string> keys_of(const json& doc) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : doc.items()) keys.push_back(key);
  return keys;
}

// x (4, 3): channel 0 is 1, 2, 3, 4 (mean 2.5, M2 5); channel 1 is constant 10; channel 2 is
// -1, -3, -5, -7 (mean -4, M2 9 + 1 + 1 + 9 = 20).
const std::vector<double> x43 = {1, 10, -1, 2, 10, -3, 3, 10, -5, 4, 10, -7};

}  // namespace

TEST_CASE("parse_state reads every key of a state") {
  const bnorm::state_file file = parse_state(R"({
    "weight": [1, 2.5],
    "bias": [0.5, -0.5],
    "running_mean": [0, 1e-3],
    "running_var": [1, 4],
    "num_batches_tracked": 3,
    "convention": "keras"
  })");
  CHECK(file.state.weight == std::vector<double>{1, 2.5});
  CHECK(file.state.bias == std::vector<double>{0.5, -0.5});
  CHECK(file.state.running_mean == std::vector<double>{0, 1e-3});
  CHECK(file.state.running_var == std::vector<double>{1, 4});
  CHECK(file.state.num_batches_tracked == 3);
  CHECK(file.convention == "keras");
}

TEST_CASE("parse_state leaves absent keys empty") {
  const bnorm::state_file empty = parse_state("{}");
  CHECK(empty.state.weight.empty());
  CHECK(empty.state.bias.empty());
  CHECK(empty.state.running_mean.empty());
  CHECK(empty.state.running_var.empty());
  CHECK(empty.state.num_batches_tracked == 0);
  CHECK(empty.convention.empty());
  const bnorm::state_file some = parse_state(R"({"running_var": [2]})");
  CHECK(some.state.running_var == std::vector<double>{2});
  CHECK(some.state.weight.empty());
}

TEST_CASE("parse_state accepts non-finite numbers in the arrays") {
  const bnorm::state_file file = parse_state(R"({"running_mean": [NaN, -Infinity]})");
  CHECK(std::isnan(file.state.running_mean[0]));
  CHECK(file.state.running_mean[1] == -HUGE_VAL);
}

TEST_CASE("parse_state refuses what is not a state") {
  CHECK_THROWS_WITH_AS(parse_state("[]"), "a state file must be a JSON object", data_error);
  CHECK_THROWS_WITH_AS(parse_state("3"), "a state file must be a JSON object", data_error);
  SUBCASE("an unknown key, so that a typo cannot fall back to a default") {
    CHECK_THROWS_WITH_AS(parse_state(R"({"wieght": [1]})"),
                         "unknown key \"wieght\" (a state has weight, bias, running_mean, "
                         "running_var, num_batches_tracked)",
                         data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"moving_mean": [1]})"),
                         "unknown key \"moving_mean\" (a state has weight, bias, running_mean, "
                         "running_var, num_batches_tracked)",
                         data_error);
  }
  SUBCASE("arrays of numbers only") {
    CHECK_THROWS_WITH_AS(parse_state(R"({"weight": 1})"),
                         "key 'weight': expected an array of numbers", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"bias": {"0": 1}})"),
                         "key 'bias': expected an array of numbers", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"weight": [1, "2"]})"),
                         "key 'weight': element 1 is not a number", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"running_var": [1, 2, null]})"),
                         "key 'running_var': element 2 is not a number", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"running_mean": [true]})"),
                         "key 'running_mean': element 0 is not a number", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"running_mean": [[1]]})"),
                         "key 'running_mean': element 0 is not a number", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"weight": []})"), "key 'weight': the array is empty",
                         data_error);
  }
  SUBCASE("num_batches_tracked is a non-negative integer") {
    for (const char* text :
         {R"({"num_batches_tracked": -1})", R"({"num_batches_tracked": 1.5})",
          R"({"num_batches_tracked": 2.0})", R"({"num_batches_tracked": "3"})",
          R"({"num_batches_tracked": 9223372036854775808})", R"({"num_batches_tracked": null})"}) {
      CAPTURE(text);
      CHECK_THROWS_WITH_AS(parse_state(text),
                           "key 'num_batches_tracked': expected a non-negative integer",
                           data_error);
    }
  }
  SUBCASE("JSON errors keep their line and column") {
    CHECK_THROWS_WITH_AS(parse_state("{\n  \"weight\": [1,]\n}"),
                         "line 2, column 16: expected a JSON value", data_error);
    CHECK_THROWS_WITH_AS(parse_state(R"({"bias": [1], "bias": [2]})"),
                         "line 1, column 15: key \"bias\" appears twice", data_error);
  }
}

TEST_CASE("stats_document names every number's meaning, in a fixed key order") {
  const step s = run_step(x43, {4, 3}, bnorm::default_config(bnorm::find_convention("torch")));
  const json doc = bnorm::stats_document(s.plan, s.result);
  CHECK(keys_of(doc) == std::vector<std::string>{"convention",
                                                 "mode",
                                                 "eps",
                                                 "momentum",
                                                 "momentum_meaning",
                                                 "running_var_fed",
                                                 "axis",
                                                 "shape",
                                                 "dtype",
                                                 "affine",
                                                 "track_running_stats",
                                                 "num_features",
                                                 "count",
                                                 "mean",
                                                 "var",
                                                 "var_unbiased",
                                                 "min",
                                                 "max",
                                                 "nonfinite",
                                                 "weight",
                                                 "bias",
                                                 "running_mean",
                                                 "running_var",
                                                 "num_batches_tracked"});
  CHECK(doc["convention"] == "torch");
  CHECK(doc["mode"] == "train");
  CHECK(doc["eps"] == 1e-5);
  CHECK(doc["momentum"] == 0.1);
  CHECK(doc["momentum_meaning"] == "weight of the new batch");
  CHECK(doc["running_var_fed"] == "unbiased");
  CHECK(doc["axis"] == 1);
  CHECK(doc["shape"] == json::array({4, 3}));
  CHECK(doc["dtype"] == "float32");
  CHECK(doc["affine"] == true);
  CHECK(doc["track_running_stats"] == true);
  CHECK(doc["num_features"] == 3);
  CHECK(doc["count"] == 4);
  CHECK(doc["mean"] == json::array({2.5, 10.0, -4.0}));
  CHECK(doc["var"] == json::array({1.25, 0.0, 5.0}));
  CHECK(doc["var_unbiased"] == json::array({5.0 / 3.0, 0.0, 20.0 / 3.0}));
  CHECK(doc["min"] == json::array({1.0, 10.0, -7.0}));
  CHECK(doc["max"] == json::array({4.0, 10.0, -1.0}));
  CHECK(doc["nonfinite"] == json::array({0, 0, 0}));
  CHECK(doc["weight"] == json::array({1.0, 1.0, 1.0}));
  CHECK(doc["bias"] == json::array({0.0, 0.0, 0.0}));
  // (1 − 0.1) · initial + 0.1 · batch, running_var fed the unbiased variance
  CHECK(doc["running_mean"] ==
        json::array({0.9 * 0 + 0.1 * 2.5, 0.9 * 0 + 0.1 * 10.0, 0.9 * 0 + 0.1 * -4.0}));
  CHECK(doc["running_var"] == json::array({0.9 * 1 + 0.1 * (5.0 / 3.0), 0.9 * 1 + 0.1 * 0.0,
                                           0.9 * 1 + 0.1 * (20.0 / 3.0)}));
  CHECK(doc["num_batches_tracked"] == 1);
}

TEST_CASE("stats_document in each convention's words") {
  SUBCASE("keras: old-value weight, biased") {
    bn_config config = bnorm::default_config(bnorm::find_convention("keras"));
    const step s = run_step(x43, {4, 3}, config);
    const json doc = bnorm::stats_document(s.plan, s.result);
    CHECK(doc["convention"] == "keras");
    CHECK(doc["momentum"] == 0.99);
    CHECK(doc["momentum_meaning"] == "weight of the old value");
    CHECK(doc["running_var_fed"] == "biased");
    CHECK(doc["eps"] == 1e-3);
    CHECK(doc["axis"] == 1);  // -1 resolved against rank 2
  }
  SUBCASE("momentum none") {
    bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
    config.momentum = std::nullopt;
    const step s = run_step(x43, {4, 3}, config);
    const json doc = bnorm::stats_document(s.plan, s.result);
    CHECK(doc["momentum"].is_null());
    CHECK(doc["momentum_meaning"] ==
          "cumulative average: weight 1/num_batches_tracked of the new batch");
  }
  SUBCASE("affine off and untracked statistics leave their keys out") {
    bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
    config.affine = false;
    config.track_running_stats = false;
    const step s = run_step(x43, {4, 3}, config);
    const json doc = bnorm::stats_document(s.plan, s.result);
    CHECK(doc["affine"] == false);
    CHECK(doc["track_running_stats"] == false);
    for (const char* key :
         {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) {
      CAPTURE(key);
      CHECK_FALSE(doc.contains(key));
    }
  }
  SUBCASE("eval mode") {
    bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
    config.mode = bn_mode::eval;
    const step s = run_step(x43, {4, 3}, config, bn_state{{}, {}, {0, 0, 0}, {1, 1, 1}, 6});
    const json doc = bnorm::stats_document(s.plan, s.result);
    CHECK(doc["mode"] == "eval");
    CHECK(doc["num_batches_tracked"] == 6);
    CHECK(doc["mean"] == json::array({2.5, 10.0, -4.0}));  // gathered on request
  }
}

TEST_CASE("a statistics document parses back as the state after the step") {
  for (const char* name : {"torch", "keras", "onnx"}) {
    CAPTURE(name);
    const bn_config config = bnorm::default_config(bnorm::find_convention(name));
    const bn_state given{{0.5, 2, -1}, {1, 0, 0.25}, {0.1, 0.2, 0.3}, {1.5, 1, 0.5}, 2};
    const step s = run_step(x43, {4, 3}, config, given);
    const std::string text = bnorm::format_json_document(bnorm::stats_document(s.plan, s.result));
    const bnorm::state_file back = parse_state(text);
    CHECK(back.convention == name);
    CHECK(back.state.weight == s.result.state.weight);
    CHECK(back.state.bias == s.result.state.bias);
    CHECK(back.state.running_mean == s.result.state.running_mean);  // bit for bit
    CHECK(back.state.running_var == s.result.state.running_var);
    CHECK(back.state.num_batches_tracked == 3);
  }
  SUBCASE("also when a statistic is NaN (one value per channel under keras)") {
    bn_config config = bnorm::default_config(bnorm::find_convention("keras"));
    const step s = run_step({1, 2, 3}, {1, 3}, config);
    const json doc = bnorm::stats_document(s.plan, s.result);
    REQUIRE(std::isnan(doc["var_unbiased"][0].get<double>()));
    const std::string text = bnorm::format_json_document(doc);
    CHECK(text.find("\"var_unbiased\": [NaN, NaN, NaN]") != std::string::npos);
    const bnorm::state_file back = parse_state(text);
    CHECK(back.state.running_var == s.result.state.running_var);
  }
  SUBCASE("and when the statistics were not gathered") {
    bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
    config.mode = bn_mode::eval;
    const step s = run_step(x43, {4, 3}, config, bn_state{{}, {}, {0, 0, 0}, {1, 1, 1}, 0}, false);
    const json doc = bnorm::stats_document(s.plan, s.result);
    CHECK(doc["mean"] == json::array());
    CHECK(parse_state(bnorm::format_json_document(doc)).state.running_var ==
          std::vector<double>{1, 1, 1});
  }
}
