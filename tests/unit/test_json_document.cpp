// SPDX-License-Identifier: Apache-2.0
// Small JSON documents (state and statistics files): bnorm's own parser and writer.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "error.hpp"
#include "json_document.hpp"

using bnorm::data_error;
using bnorm::format_json_document;
using bnorm::parse_json_document;
using json = nlohmann::ordered_json;

namespace {

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST_CASE("parse_json_document reads every kind of JSON value") {
  const json doc = parse_json_document(
      R"({"s": "text", "t": true, "f": false, "n": null, "a": [1, [2], {}], "o": {"k": []}})");
  CHECK(doc["s"] == "text");
  CHECK(doc["t"] == true);
  CHECK(doc["f"] == false);
  CHECK(doc["n"].is_null());
  CHECK(doc["a"].size() == 3);
  CHECK(doc["a"][1][0] == 2);
  CHECK(doc["a"][2].is_object());
  CHECK(doc["o"]["k"].is_array());
  SUBCASE("scalars at the top level") {
    CHECK(parse_json_document(" 3 ") == 3);
    CHECK(parse_json_document("\"x\"") == "x");
    CHECK(parse_json_document("null").is_null());
  }
  SUBCASE("keys keep their order") {
    const json ordered = parse_json_document(R"({"z": 1, "a": 2, "m": 3})");
    std::string keys;
    for (const auto& [key, value] : ordered.items()) keys += key;
    CHECK(keys == "zam");
  }
}

TEST_CASE("parse_json_document keeps integers that fit int64 as integers") {
  const json doc = parse_json_document(
      R"([1, -5, 0, 1.0, 1e2, 9223372036854775807, -9223372036854775808, 9223372036854775808, -0])");
  CHECK(doc[0].is_number_integer());
  CHECK(doc[0].get<std::int64_t>() == 1);
  CHECK(doc[1].get<std::int64_t>() == -5);
  CHECK(doc[2].is_number_integer());
  CHECK(doc[3].is_number_float());  // a fraction makes a float
  CHECK(doc[3].get<double>() == 1.0);
  CHECK(doc[4].is_number_float());  // so does an exponent
  CHECK(doc[4].get<double>() == 100.0);
  CHECK(doc[5].is_number_integer());
  CHECK(doc[5].get<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
  CHECK(doc[6].is_number_integer());
  CHECK(doc[6].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(doc[7].is_number_float());  // 2^63 does not fit int64
  CHECK(doc[7].get<double>() == 0x1p63);
  CHECK(doc[8].is_number_integer());  // -0 is an integer, as in Python
}

TEST_CASE("parse_json_document accepts NaN, Infinity and -Infinity as floats") {
  const json doc = parse_json_document("[NaN, Infinity, -Infinity]");
  CHECK(doc[0].is_number_float());
  CHECK(std::isnan(doc[0].get<double>()));
  CHECK(doc[1].get<double>() == std::numeric_limits<double>::infinity());
  CHECK(doc[2].get<double>() == -std::numeric_limits<double>::infinity());
}

TEST_CASE("parse_json_document decodes escapes and surrogate pairs to UTF-8") {
  CHECK(parse_json_document(R"("\"\\\/\b\f\n\r\t")") == "\"\\/\b\f\n\r\t");
  CHECK(parse_json_document(R"("\u0041\u00e9\u20AC")") == "A\xc3\xa9\xe2\x82\xac");
  CHECK(parse_json_document(R"("\ud83d\ude00")") == "\xf0\x9f\x98\x80");  // U+1F600
  CHECK(parse_json_document(R"("\uDBFF\uDFFF")") == "\xf4\x8f\xbf\xbf");  // U+10FFFF
  CHECK(parse_json_document(R"("\u0000")") == std::string(1, '\0'));
  CHECK(parse_json_document("\"\xc3\xa9\xf0\x9f\x98\x80\"") == "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("parse_json_document refuses broken strings") {
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\ud83d")"), "line 1, column 8: unpaired surrogate",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\ud83dx")"), "line 1, column 8: unpaired surrogate",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\ude00")"), "line 1, column 8: unpaired surrogate",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\ud83d\u0041")"),
                       "line 1, column 14: unpaired surrogate", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\u12g4")"),
                       "line 1, column 6: bad hex digit in a \\u escape", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\u12")"), "line 1, column 4: incomplete \\u escape",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(R"("\q")"),
                       "line 1, column 3: unknown escape in a string", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("\"a\nb\""),
                       "line 1, column 3: control character in a string", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("\"abc"), "line 1, column 5: the JSON ends too early",
                       data_error);
  SUBCASE("invalid UTF-8") {
    for (const char* text : {"\"a\xff\"", "\"a\xc0\xaf\"", "\"a\xed\xa0\x80\"", "\"a\xe2\x82\"",
                             "\"a\xf5\x80\x80\x80\"", "\"a\x80\""}) {
      CAPTURE(text);
      CHECK_THROWS_WITH_AS(parse_json_document(text), "line 1, column 3: invalid UTF-8 in a string",
                           data_error);
    }
  }
}

TEST_CASE("parse_json_document refuses duplicate keys at any depth") {
  CHECK_THROWS_WITH_AS(parse_json_document(R"({"a": 1, "a": 2})"),
                       "line 1, column 10: key \"a\" appears twice", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{\"o\": {\"k\": 1,\n \"k\": 1}}"),
                       "line 2, column 2: key \"k\" appears twice", data_error);
  // Keys are compared after unescaping.
  CHECK_THROWS_WITH_AS(parse_json_document(R"({"a": 1, "\u0061": 2})"),
                       "line 1, column 10: key \"a\" appears twice", data_error);
}

TEST_CASE("parse_json_document refuses nesting deeper than 64 without exhausting the stack") {
  CHECK(parse_json_document(nested_arrays(64)).is_array());
  CHECK_THROWS_WITH_AS(parse_json_document(nested_arrays(65)),
                       "line 1, column 65: nested deeper than 64 levels", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document(std::string(100000, '[')),
                       "line 1, column 65: nested deeper than 64 levels", data_error);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK_THROWS_WITH_AS(parse_json_document(objects),
                       "line 1, column 321: nested deeper than 64 levels", data_error);
}

TEST_CASE("parse_json_document refuses malformed documents with line:column") {
  CHECK_THROWS_WITH_AS(parse_json_document(""),
                       "line 1, column 1: the file is empty (expected a JSON value)", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{} x"),
                       "line 1, column 4: unexpected text after the JSON value", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("[1,]"), "line 1, column 4: expected a JSON value",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("[1 2]"), "line 1, column 4: expected ',' or ']'",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{\"a\" 1}"),
                       "line 1, column 6: expected ':' after a key", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{1: 2}"), "line 1, column 2: expected a quoted key",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{\"a\": 1 \"b\": 2}"),
                       "line 1, column 9: expected ',' or '}'", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("tru"), "line 1, column 1: expected a JSON value",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("[1,"), "line 1, column 4: the JSON ends too early",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("{\n  \"a\": 01\n}"),
                       "line 2, column 8: a number may not start with 0 (JSON has no octal)",
                       data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("[1e400]"),
                       "line 1, column 2: number 1e400 is too large for a double", data_error);
  CHECK_THROWS_WITH_AS(parse_json_document("[nan]"), "line 1, column 2: expected a JSON value",
                       data_error);
}

TEST_CASE("format_json_document lays documents out with two-space indentation") {
  json doc;
  doc["convention"] = "torch";
  doc["eps"] = 1e-5;
  doc["momentum"] = nullptr;
  doc["shape"] = {2, 3};
  doc["flag"] = true;
  doc["nested"]["a"] = json::array({json::array({1, 2.5}), json::array({3})});
  doc["nested"]["e"] = json::object();
  doc["nested"]["f"] = json::array();
  doc["nested"]["s"] = json::array({"x", 1});
  CHECK(format_json_document(doc) ==
        "{\n"
        "  \"convention\": \"torch\",\n"
        "  \"eps\": 1e-05,\n"
        "  \"momentum\": null,\n"
        "  \"shape\": [2, 3],\n"
        "  \"flag\": true,\n"
        "  \"nested\": {\n"
        "    \"a\": [\n"
        "      [1, 2.5],\n"
        "      [3]\n"
        "    ],\n"
        "    \"e\": {},\n"
        "    \"f\": [],\n"
        "    \"s\": [\n"
        "      \"x\",\n"
        "      1\n"
        "    ]\n"
        "  }\n"
        "}\n");
  CHECK(format_json_document(json::object()) == "{}\n");
  CHECK(format_json_document(json::array({0.5})) == "[0.5]\n");
  CHECK(format_json_document(json(7)) == "7\n");
}

TEST_CASE("format_json_document writes floats as the shortest float64 text that stays a float") {
  const double qnan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  json doc = json::array({0.1, 0.1 + 0.2, 1.0, -0.0, 100.0, 1e300, 1e-5, 5e-324, qnan, inf, -inf});
  CHECK(format_json_document(doc) ==
        "[0.1, 0.30000000000000004, 1.0, -0.0, 100.0, 1e+300, 1e-05, 5e-324, NaN, Infinity, "
        "-Infinity]\n");
  SUBCASE("integers stay integers") {
    json ints = json::array(
        {std::numeric_limits<std::int64_t>::min(), 0, std::numeric_limits<std::uint64_t>::max()});
    CHECK(format_json_document(ints) == "[-9223372036854775808, 0, 18446744073709551615]\n");
  }
}

TEST_CASE("format_json_document escapes strings as JSON requires") {
  json doc;
  doc["quote\"and\\newline\n"] = "tab\t\x01\xc3\xa9";
  CHECK(format_json_document(doc) ==
        "{\n  \"quote\\\"and\\\\newline\\n\": \"tab\\t\\u0001\xc3\xa9\"\n}\n");
}

TEST_CASE("format_json_document output parses back to the same document") {
  json doc;
  doc["name"] = "bnorm \xe2\x82\xac \"q\"";
  doc["floats"] = {0.1, 1.0, -0.0, 2.5e-300, 123456789012345680000.0};
  doc["ints"] = {1, -2, 3};
  doc["deep"]["deeper"] = json::array({json::array({1.5}), json::object({{"k", nullptr}})});
  const json back = parse_json_document(format_json_document(doc));
  CHECK(back == doc);
  CHECK(back.dump() == doc.dump());
  // Floats stay floats and negative zero keeps its sign.
  CHECK(back["floats"][1].is_number_float());
  CHECK(std::signbit(back["floats"][2].get<double>()));
  CHECK(back["floats"][4].is_number_float());
  CHECK(back["ints"][0].is_number_integer());
}
