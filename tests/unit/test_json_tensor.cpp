// SPDX-License-Identifier: Apache-2.0
// Nested JSON arrays as tensors: what is accepted, every refusal with its line:column, and the
// exact text written back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/json_tensor.hpp"
#include "json_lexer.hpp"
#include "tensor_info.hpp"

using bnorm::data_error;
using bnorm::dtype;
using bnorm::parse_json_tensor;
using shape_t = std::vector<std::size_t>;

namespace {

std::string nested(std::size_t depth, const std::string& inside) {
  return std::string(depth, '[') + inside + std::string(depth, ']');
}

std::string write(const std::vector<double>& values, const shape_t& shape,
                  dtype type = dtype::float64()) {
  std::string out;
  bnorm::append_json_tensor(out, values.data(), shape, type);
  return out;
}

}  // namespace

TEST_CASE("parse_json_tensor reads rectangular nested arrays") {
  SUBCASE("a matrix") {
    const auto t = parse_json_tensor("[[1, 2, 3], [4, 5, 6]]");
    CHECK(t.shape == shape_t{2, 3});
    CHECK(t.values == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  SUBCASE("rank 3 with a trailing 1") {
    const auto t = parse_json_tensor("[[[1], [2]], [[3], [4]]]");
    CHECK(t.shape == shape_t{2, 2, 1});
    CHECK(t.values == std::vector<double>{1, 2, 3, 4});
  }
  SUBCASE("a vector, with whitespace of every kind around the tokens") {
    const auto t = parse_json_tensor(" \t\r\n[ 1.5 ,\n-2\t]\r\n ");
    CHECK(t.shape == shape_t{2});
    CHECK(t.values == std::vector<double>{1.5, -2});
  }
  SUBCASE("32 levels, json_max_rank") {
    const auto t = parse_json_tensor(nested(32, "7"));
    CHECK(t.shape == shape_t(32, 1));
    CHECK(t.values == std::vector<double>{7});
  }
}

TEST_CASE("parse_json_tensor gives empty arrays their shape") {
  CHECK(parse_json_tensor("[]").shape == shape_t{0});
  CHECK(parse_json_tensor("[[]]").shape == shape_t{1, 0});
  CHECK(parse_json_tensor("[[ ], [ ]]").shape == shape_t{2, 0});
  CHECK(parse_json_tensor("[[], [], []]").shape == shape_t{3, 0});
  CHECK(parse_json_tensor("[[[]]]").shape == shape_t{1, 1, 0});
  CHECK(parse_json_tensor("[[[], []], [[], []]]").shape == shape_t{2, 2, 0});
  CHECK(parse_json_tensor("[[ ], [ ]]").values.empty());
}

TEST_CASE("parse_json_tensor reads numbers exactly") {
  const auto t = parse_json_tensor(
      "[0.1, -0, 1e-400, 12345678901234567890, 5e-324, 1.7976931348623157e308, 1E+2, 0]");
  REQUIRE(t.values.size() == 8);
  CHECK(t.values[0] == 0.1);
  CHECK(t.values[1] == 0.0);
  CHECK(std::signbit(t.values[1]));
  CHECK(t.values[2] == 0.0);  // underflow rounds to zero, as every JSON reader does
  CHECK(t.values[3] == 12345678901234567890.0);
  CHECK(t.values[4] == 5e-324);
  CHECK(t.values[5] == std::numeric_limits<double>::max());
  CHECK(t.values[6] == 100);
  CHECK(t.values[7] == 0);
}

TEST_CASE("parse_json_tensor accepts Python's NaN, Infinity and -Infinity") {
  const auto t = parse_json_tensor("[[NaN, Infinity], [-Infinity, 1]]");
  CHECK(t.shape == shape_t{2, 2});
  CHECK(std::isnan(t.values[0]));
  CHECK(t.values[1] == std::numeric_limits<double>::infinity());
  CHECK(t.values[2] == -std::numeric_limits<double>::infinity());
}

TEST_CASE("parse_json_tensor refuses ragged arrays") {
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[1, 2], [3]]"),
      "line 1, column 12: ragged array: 1 element where the first array at depth 2 has 2",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[1, 2], [3, 4, 5]]"),
      "line 1, column 18: ragged array: 3 elements where the first array at depth 2 has 2",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[[1], [2]], [[3]]]"),
      "line 1, column 18: ragged array: 1 element where the first array at depth 2 has 2",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[1], []]"),
      "line 1, column 8: ragged array: 0 elements where the first array at depth 2 has 1",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[], [1]]"),
      "line 1, column 8: ragged array: 1 element where the first array at depth 2 has 0",
      data_error);
}

TEST_CASE("parse_json_tensor refuses mixed depth either way round") {
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[1, [2]]"),
      "line 1, column 5: mixed depth: an array where a number was found at the same depth before",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[1], 2]"),
      "line 1, column 7: mixed depth: a number where an array was found at the same depth before",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[], 1]"),
      "line 1, column 6: mixed depth: a number where an array was found at the same depth before",
      data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[], [[]]]"),
      "line 1, column 7: mixed depth: an array where a number was found at the same depth before",
      data_error);
}

TEST_CASE("parse_json_tensor refuses nesting deeper than 32 without exhausting the stack") {
  const char* message = "line 1, column 33: arrays nested deeper than 32 levels";
  CHECK_THROWS_WITH_AS(parse_json_tensor(nested(33, "1")), message, data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor(std::string(100000, '[')), message, data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor(nested(100000, "")), message, data_error);
}

TEST_CASE("parse_json_tensor refuses what is not a number") {
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1, null]"),
                       "line 1, column 5: null is not a number (write NaN for a missing value)",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[\"1\"]"), "line 1, column 2: a string is not a number",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[true]"), "line 1, column 2: a boolean is not a number",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[[0, false]]"),
                       "line 1, column 6: a boolean is not a number", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[{}]"), "line 1, column 2: an object is not a number",
                       data_error);
  for (const char* text : {"[nul]", "[.5]", "[+1]", "[nan]", "[inf]", "[,1]", "[x]"}) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(parse_json_tensor(text), "line 1, column 2: expected a number or '['",
                         data_error);
  }
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1,,2]"), "line 1, column 4: expected a number or '['",
                       data_error);
}

TEST_CASE("parse_json_tensor refuses numbers JSON does not allow or double cannot hold") {
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1e400]"),
                       "line 1, column 2: number 1e400 is too large for a double", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1, -1e400]"),
                       "line 1, column 5: number -1e400 is too large for a double", data_error);
  for (const char* text : {"[01]", "[-01]", "[00]", "[007.5]"}) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(parse_json_tensor(text),
                         "line 1, column 2: a number may not start with 0 (JSON has no octal)",
                         data_error);
  }
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1.]"),
                       "line 1, column 4: expected a digit after the decimal point", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1e]"),
                       "line 1, column 4: expected a digit in the exponent", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1e+]"),
                       "line 1, column 5: expected a digit in the exponent", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[-NaN]"), "line 1, column 2: expected a number",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[-]"), "line 1, column 2: expected a number", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[Infinityx]"), "line 1, column 10: expected ',' or ']'",
                       data_error);
}

TEST_CASE("parse_json_tensor refuses broken structure and trailing text") {
  CHECK_THROWS_WITH_AS(parse_json_tensor(""),
                       "line 1, column 1: the file is empty (expected a JSON array)", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("  \n "),
                       "line 2, column 2: the file is empty (expected a JSON array)", data_error);
  for (const char* text : {"5", "{}", "]", "\"[1]\"", "NaN"}) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(parse_json_tensor(text),
                         "line 1, column 1: a tensor must be a JSON array of arrays of numbers",
                         data_error);
  }
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1, 2] x"),
                       "line 1, column 8: unexpected text after the array", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1]]"),
                       "line 1, column 4: unexpected text after the array", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1] [2]"),
                       "line 1, column 5: unexpected text after the array", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1, 2"),
                       "line 1, column 6: the JSON ends inside an array", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("["), "line 1, column 2: the JSON ends inside an array",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1 2]"), "line 1, column 4: expected ',' or ']'",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1,]"), "line 1, column 4: a ',' is followed by ']'",
                       data_error);
}

TEST_CASE("parse_json_tensor reports line and column across lines") {
  CHECK_THROWS_WITH_AS(parse_json_tensor("[\n  [1, 2],\n  [3, x]\n]"),
                       "line 3, column 7: expected a number or '['", data_error);
  CHECK_THROWS_WITH_AS(
      parse_json_tensor("[[1, 2],\n [3]]"),
      "line 2, column 4: ragged array: 1 element where the first array at depth 2 has 2",
      data_error);
  // Columns count bytes from the last '\n'; a '\r' before it is an ordinary byte.
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1,\r\n x]"),
                       "line 2, column 2: expected a number or '['", data_error);
  CHECK_THROWS_WITH_AS(parse_json_tensor("[1,\n\n\n  null]"),
                       "line 4, column 3: null is not a number (write NaN for a missing value)",
                       data_error);
}

TEST_CASE("append_json_tensor writes one innermost row per line") {
  CHECK(write({1, 2, 3, 4, 5, 6}, {2, 3}) == "[[1, 2, 3],\n [4, 5, 6]]\n");
  CHECK(write({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}) ==
        "[[[1, 2],\n  [3, 4]],\n [[5, 6],\n  [7, 8]]]\n");
  CHECK(write({1, 2, 3}, {3, 1}) == "[[1],\n [2],\n [3]]\n");
  CHECK(write({1.5, -2}, {2}) == "[1.5, -2]\n");
  CHECK(write({0.25}, {1, 1, 1}) == "[[[0.25]]]\n");
  CHECK(write({2.5}, {}) == "2.5\n");
  CHECK(write({}, {0}) == "[]\n");
}

TEST_CASE("append_json_tensor writes each number as its output type's shortest text") {
  const double qnan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(write({0.1, -0.0, qnan, inf, -inf, 1e39}, {6}, dtype::float32()) ==
        "[0.1, -0.0, NaN, Infinity, -Infinity, Infinity]\n");
  CHECK(write({0.1, 1.0 / 3.0}, {2}, dtype::float16()) == "[0.1, 0.3333]\n");
  CHECK(write({0.1, 1.0 / 3.0}, {2}, dtype::float64()) == "[0.1, 0.3333333333333333]\n");
}

TEST_CASE("append_json_tensor appends to what the string already holds") {
  std::string out = "x";
  const double v = 1;
  bnorm::append_json_tensor(out, &v, {1}, dtype::float64());
  CHECK(out == "x[1]\n");
}

// Regression: a zero-size tensor of rank 2 or more was written as rank copies of '[' and ']',
// "[[]]", which reads back as shape (1, 0).  (2, 0) holds two empty rows and (0, 3) is "[]".
// JSON cannot carry the dimensions after the first zero (an empty array has no elements to
// show their shape), so those read back without them.
TEST_CASE("append_json_tensor writes zero-size shapes as far as JSON can hold them") {
  CHECK(write({}, {0, 3}) == "[]\n");
  CHECK(write({}, {1, 0}) == "[[]]\n");
  CHECK(write({}, {2, 0}) == "[[], []]\n");
  const std::pair<shape_t, shape_t> cases[] = {{{2, 0}, {2, 0}},
                                               {{0, 3}, {0}},
                                               {{3, 2, 0}, {3, 2, 0}},
                                               {{2, 0, 5}, {2, 0}},
                                               {{1, 0}, {1, 0}}};
  for (const auto& [shape, read_back] : cases) {
    CAPTURE(bnorm::shape_to_string(shape));
    CHECK(parse_json_tensor(write({}, shape)).shape == read_back);
  }
}

TEST_CASE("append_json_tensor output reads back bit for bit") {
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> normal(0.0, 1.0);
  const shape_t shapes[] = {{7}, {3, 5}, {2, 3, 4}, {1, 2, 1, 3, 1}};
  for (const shape_t& shape : shapes) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    std::vector<double> values(n);
    for (double& v : values) v = normal(rng) * std::pow(10.0, normal(rng) * 50);
    const auto back = parse_json_tensor(write(values, shape));
    CHECK(back.shape == shape);
    CHECK(back.values == values);
  }
}

TEST_CASE("the shared JSON lexer: number tokens and line:column") {
  using bnorm::detail::lex_json_number;
  const auto integer = lex_json_number("[-120, 5]", 1);
  CHECK(integer.value == -120);
  CHECK(integer.integral);
  CHECK(integer.end == 5);
  const auto fraction = lex_json_number("2.50e-1]", 0);
  CHECK(fraction.value == 0.25);
  CHECK_FALSE(fraction.integral);
  CHECK(fraction.end == 7);
  CHECK_FALSE(lex_json_number("1e2", 0).integral);
  CHECK(lex_json_number("-Infinity", 0).end == 9);
  CHECK(lex_json_number("NaN,", 0).end == 3);
  CHECK(bnorm::detail::line_column("ab\ncd\n", 0) == "line 1, column 1");
  CHECK(bnorm::detail::line_column("ab\ncd\n", 4) == "line 2, column 2");
  CHECK(bnorm::detail::line_column("ab\ncd\n", 6) == "line 3, column 1");
  CHECK(bnorm::detail::line_column("ab", 99) == "line 1, column 3");  // clamped to the end
}
