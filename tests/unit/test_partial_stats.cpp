// SPDX-License-Identifier: Apache-2.0
// Partial statistics: the document `stats --partial` writes, read back, and merged.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "error.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"

using bnorm::channel_moments;
using bnorm::data_error;
using bnorm::moments_accumulator;

namespace {

std::vector<channel_moments> measure(const std::vector<std::vector<double>>& channels) {
  moments_accumulator acc(channels.size());
  for (std::size_t c = 0; c < channels.size(); ++c) {
    acc.add(c, channels[c].data(), channels[c].size());
  }
  return acc.moments();
}

}  // namespace

TEST_CASE("a partial document reads back to the same moments") {
  const auto moments = measure({{1, 2, 3, 4}, {-1e4, 1e4 + 0.5}});
  const auto text = bnorm::format_json_document(bnorm::partial_document(moments, true));
  const auto back = bnorm::parse_partial(bnorm::parse_json_document(text));
  REQUIRE(back.size() == 2);
  for (std::size_t c = 0; c < 2; ++c) {
    CHECK(back[c].count == moments[c].count);
    CHECK(back[c].mean == moments[c].mean);  // shortest round-trip text: exact
    CHECK(back[c].m2 == moments[c].m2);
    CHECK(back[c].min == moments[c].min);
    CHECK(back[c].max == moments[c].max);
  }
  // Σ(x − 2.5)² over 1..4 is 5, var 5/4, var_unbiased 5/3.
  const auto doc = bnorm::partial_document(moments, true);
  CHECK(doc["m2"][0].get<double>() == doctest::Approx(5.0).epsilon(1e-15));
  CHECK(doc["var"][0].get<double>() == doctest::Approx(1.25).epsilon(1e-15));
  CHECK(doc["var_unbiased"][0].get<double>() == doctest::Approx(5.0 / 3).epsilon(1e-15));
}

TEST_CASE("merging shards gives the moments of the whole, in any grouping") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(100.0, 0.5);
  std::vector<std::vector<double>> whole(1);
  std::vector<std::vector<channel_moments>> shards;
  for (int s = 0; s < 7; ++s) {
    std::vector<double> shard(100 + 37 * s);
    for (double& v : shard) v = normal(rng);
    whole[0].insert(whole[0].end(), shard.begin(), shard.end());
    shards.push_back(measure({shard}));
  }
  const channel_moments expected = measure(whole)[0];
  const channel_moments flat = bnorm::merge_partials(shards)[0];
  const channel_moments left = bnorm::merge_partials(
      {bnorm::merge_partials({shards[0], shards[1], shards[2]}),
       bnorm::merge_partials({shards[3], shards[4], shards[5], shards[6]})})[0];
  for (const channel_moments& m : {flat, left}) {
    CHECK(m.count == expected.count);
    CHECK(m.mean == doctest::Approx(expected.mean).epsilon(1e-15));
    CHECK(m.m2 == doctest::Approx(expected.m2).epsilon(1e-12));
    CHECK(m.min == expected.min);
    CHECK(m.max == expected.max);
  }
}

TEST_CASE("malformed partial documents are data errors") {
  const auto parse = [](const char* text) {
    return bnorm::parse_partial(bnorm::parse_json_document(text));
  };
  CHECK_THROWS_WITH_AS(parse(R"({"weight": [1]})"), "not partial statistics (no \"partial\": true)",
                       data_error);
  CHECK_THROWS_WITH_AS(parse(R"({"partial": true, "count": [2], "mean": [1, 2]})"),
                       "key 'mean': expected an array of 1 number", data_error);
  CHECK_THROWS_WITH_AS(parse(R"({"partial": true, "count": [2], "mean": [1], "m2": [-1], "min": [0],
                "max": [2], "nonfinite": [0]})"),
                       "m2[0] is negative", data_error);
  CHECK_THROWS_WITH_AS(bnorm::merge_partials({measure({{1, 2}}), measure({{1}, {2}})}),
                       "shard 2 has 2 channels, the first has 1", data_error);
}

// Regression: a document could say mean NaN with nonfinite 0 (or the reverse), and merge passed
// the contradiction on.  Every document bnorm writes tells one story, NaN and ±Inf included.
TEST_CASE("partial documents whose figures contradict each other are data errors") {
  const auto parse = [](const std::string& channel) {
    return bnorm::parse_partial(bnorm::parse_json_document(
        R"({"partial": true, "count": [4], "min": [0], "max": [2], )" + channel + "}"));
  };
  CHECK_THROWS_WITH_AS(parse(R"("mean": [NaN], "m2": [0], "nonfinite": [0])"),
                       "mean[0] is NaN, but nonfinite[0] counts no NaN or infinity", data_error);
  CHECK_THROWS_WITH_AS(parse(R"("mean": [-Infinity], "m2": [NaN], "nonfinite": [0])"),
                       "mean[0] is -Infinity, but nonfinite[0] counts no NaN or infinity",
                       data_error);
  CHECK_THROWS_WITH_AS(parse(R"("mean": [1], "m2": [NaN], "nonfinite": [0])"),
                       "m2[0] is NaN, but nonfinite[0] counts no NaN or infinity", data_error);
  CHECK_THROWS_WITH_AS(parse(R"("mean": [1.5], "m2": [NaN], "nonfinite": [1])"),
                       "mean[0] is 1.5, but nonfinite[0] counts 1 NaN or infinite value",
                       data_error);
  // nonfinite > 0 makes M2 NaN as it makes the mean NaN or ±Inf: a number there contradicts it.
  CHECK_THROWS_WITH_AS(parse(R"("mean": [Infinity], "m2": [0], "nonfinite": [1])"),
                       "m2[0] is 0, but nonfinite[0] counts NaN or infinite values, which make "
                       "it NaN",
                       data_error);
  CHECK_THROWS_WITH_AS(parse(R"("mean": [NaN], "m2": [Infinity], "nonfinite": [2])"),
                       "m2[0] is Infinity, but nonfinite[0] counts NaN or infinite values, which "
                       "make it NaN",
                       data_error);
  // Finite values never have an infinite mean (overflowing sums are scaled), so an infinite
  // mean without nonfinite values is refused whatever M2 says.
  CHECK_THROWS_WITH_AS(parse(R"("mean": [Infinity], "m2": [Infinity], "nonfinite": [0])"),
                       "mean[0] is Infinity, but nonfinite[0] counts no NaN or infinity",
                       data_error);
  CHECK_THROWS_WITH_AS(parse(R"("mean": [NaN], "m2": [NaN], "nonfinite": [5])"),
                       "nonfinite[0] is 5, more than count[0] (4)", data_error);
  // What bnorm writes for NaN, ±Inf and overflowing squares reads back.
  const double nan = std::nan(""), inf = HUGE_VAL;
  for (const auto& channel : {measure({{1, nan, 3, 4}}), measure({{inf, 1, 2, 3}}),
                              measure({{1.7e308, -1.7e308, 1, 2}})}) {
    const auto text = bnorm::format_json_document(bnorm::partial_document(channel, false));
    CHECK(bnorm::parse_partial(bnorm::parse_json_document(text))[0].nonfinite ==
          channel[0].nonfinite);
  }
}

// M2 past double's range (±1e154: 2e308) is written scaled, with "m2_exponent", and read back:
// a merge of such shards keeps the finite variance (1e308).
TEST_CASE("a partial document carries an M2 past double's range") {
  const auto shard = measure({{1e154, -1e154}, {1, 2}});
  const auto doc = bnorm::partial_document(shard, false);
  REQUIRE(doc.contains("m2_exponent"));
  CHECK(doc["m2_exponent"][0] == bnorm::m2_scale);
  CHECK(doc["m2_exponent"][1] == 0);
  CHECK_FALSE(bnorm::partial_document(measure({{1, 2}}), false).contains("m2_exponent"));
  const auto back =
      bnorm::parse_partial(bnorm::parse_json_document(bnorm::format_json_document(doc)));
  CHECK(back[0].var() == shard[0].var());
  CHECK(back[0].var() == doctest::Approx(1e308).epsilon(1e-15));
  const auto merged = bnorm::merge_partials({back, back})[0];
  CHECK(merged.var() == doctest::Approx(1e308).epsilon(1e-15));
  CHECK_THROWS_WITH_AS(
      bnorm::parse_partial(bnorm::parse_json_document(
          R"({"partial": true, "count": [2], "mean": [0], "m2": [1], "min": [0], "max": [1],
              "nonfinite": [0], "m2_exponent": [65]})")),
      "m2_exponent must be integers from 0 to 64", data_error);
}

TEST_CASE("parse_batch_statistics takes partial and pooled statistics documents") {
  const auto parse = [](const char* text) {
    return bnorm::parse_batch_statistics(bnorm::parse_json_document(text));
  };
  // A pooled document (stats --format json of one file or many): M2 = var·count.
  const auto pooled = parse(
      R"({"files": 3, "num_features": 2, "count": 4, "mean": [1.5, -2], "var": [0.25, 4],
          "min": [1, -4], "max": [2, 0], "nonfinite": [0, 0], "estimator": "pooled"})");
  REQUIRE(pooled.size() == 2);
  CHECK(pooled[0].count == 4);
  CHECK(pooled[0].m2 == 1.0);
  CHECK(pooled[1].m2 == 16.0);
  CHECK(pooled[1].mean == -2.0);
  const auto per_channel = parse(
      R"({"count": [4, 2], "mean": [1, 1], "var": [1, 3], "min": [0, 0], "max": [2, 2],
          "nonfinite": [0, 0]})");
  CHECK(per_channel[1].count == 2);
  CHECK(per_channel[1].m2 == 6.0);
  const auto partial = parse(
      R"({"partial": true, "count": [2], "mean": [1], "m2": [2], "min": [0], "max": [2],
          "nonfinite": [0]})");
  CHECK(partial[0].m2 == 2.0);
  CHECK_THROWS_WITH_AS(parse(R"({"estimator": "per_sample", "mean": [1], "std": [1]})"),
                       "per-sample statistics (\"estimator\": \"per_sample\") average each "
                       "sample's, which is no batch's mean and variance",
                       data_error);
  CHECK_THROWS_WITH_AS(
      parse(R"({"channels": [0], "count": 4, "mean": [1], "var": [1], "min": [0], "max": [2],
                "nonfinite": [0]})"),
      "the statistics of some channels only (\"channels\"): a batch's statistics need every "
      "channel",
      data_error);
  CHECK_THROWS_WITH_AS(parse(R"({"count": [4], "mean": [1], "var": [-1], "min": [0], "max": [2],
                                 "nonfinite": [0]})"),
                       "var[0] is negative", data_error);
  CHECK_THROWS_WITH_AS(parse(R"({"count": [4, 1], "mean": [1], "var": [1], "min": [0],
                                 "max": [2], "nonfinite": [0]})"),
                       "key 'count': expected a non-negative integer, or one per channel",
                       data_error);
  CHECK_THROWS_WITH_AS(parse(R"({"weight": [1]})"), "not partial statistics (no \"partial\": true)",
                       data_error);
}
