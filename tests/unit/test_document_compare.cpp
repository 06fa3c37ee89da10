// SPDX-License-Identifier: Apache-2.0
// Where two JSON documents differ, and how each difference reads.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "document_compare.hpp"

TEST_CASE("compare_documents names arrays of different lengths, one element singular") {
  const auto what = [](const char* actual, const char* expected) {
    const auto differences = bnorm::compare_documents(nlohmann::ordered_json::parse(actual),
                                                      nlohmann::ordered_json::parse(expected), {});
    REQUIRE(differences.size() == 1);
    CHECK(differences[0].path == "running_mean");
    return differences[0].what;
  };
  CHECK(what(R"({"running_mean": [1]})", R"({"running_mean": [1, 2]})") == "1 element, expected 2");
  CHECK(what(R"({"running_mean": [1, 2]})", R"({"running_mean": [1]})") ==
        "2 elements, expected 1");
  CHECK(what(R"({"running_mean": []})", R"({"running_mean": [1]})") == "0 elements, expected 1");
}
