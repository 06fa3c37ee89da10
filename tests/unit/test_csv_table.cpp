// SPDX-License-Identifier: Apache-2.0
#include "formats/csv_table.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "error.hpp"

namespace {

using bnorm::csv_table;

std::shared_ptr<const csv_table> scan(std::string text, bnorm::csv_dialect dialect = {}) {
  return csv_table::scan(bnorm::byte_source::from_memory("t.csv", std::move(text)), dialect);
}

bool spells(const std::string& text) {
  return bnorm::spells_csv_number(text.data(), text.data() + text.size());
}

bool parses(const std::string& text) {
  double value = 0;
  return bnorm::parse_csv_number(text.data(), text.data() + text.size(), value);
}

}  // namespace

TEST_CASE("the spelling check at open accepts exactly what the parser reads") {
  // Every string of up to three characters over the alphabet numbers are made of, and words.
  const std::string alphabet = "0.eE+-9 in";
  std::vector<std::string> texts{"",       "inf", "INFINITY", "nan",  "-nan", "+inf", "infinit",
                                 "nan(1)", "1e5", ".5e-3",    "1.e3", "00",   "1_0",  "\t1\t"};
  for (const char a : alphabet) {
    texts.emplace_back(1, a);
    for (const char b : alphabet) {
      texts.push_back(std::string{a, b});
      for (const char c : alphabet) texts.push_back(std::string{a, b, c});
    }
  }
  for (const std::string& text : texts) {
    CAPTURE(text);
    CHECK(spells(text) == parses(text));
  }
}

TEST_CASE("a table is read the same from any position, in ranges of any size") {
  // Past several checkpoints (every 256th row), with quoted fields and a quoted newline in
  // the header moving the offsets.
  std::string text = "a,\"b\nb\",c\n";
  std::vector<double> expected;
  for (int row = 0; row < 1000; ++row) {
    for (int column = 0; column < 3; ++column) {
      const double value = row * 3 + column + 0.25;
      expected.push_back(value);
      const std::string number = std::to_string(row * 3 + column) + ".25";
      text += row % 7 == column ? "\"" + number + "\"" : number;
      text += column == 2 ? (row % 2 ? "\r\n" : "\n") : ",";
    }
  }
  const auto table = scan(text);
  REQUIRE(table->rows() == 1000);
  REQUIRE(table->columns() == 3);
  CHECK(table->names() == std::vector<std::string>{"a", "b\nb", "c"});
  for (const std::size_t step : {1, 2, 3, 5, 64, 767, 768, 769, 3000}) {
    CAPTURE(step);
    std::vector<double> values(expected.size());
    for (std::size_t p = 0; p < values.size(); p += step) {
      const std::size_t n = std::min(step, values.size() - p);
      table->read_at(p, std::span<double>(values.data() + p, n));
    }
    CHECK(values == expected);
  }
  // Backwards, one value at a time: never from a cursor past the position.
  for (std::size_t p = expected.size(); p-- > 0;) {
    double value = 0;
    table->read_at(p, std::span<double>(&value, 1));
    REQUIRE(value == expected[p]);
  }
}

TEST_CASE("a table's faults are refused with their line and column") {
  CHECK_THROWS_WITH_AS(scan("a,b\n1,2\n3,4x\n"),
                       "t.csv: line 3, column 3: '4x' (column 2) is not a number",
                       bnorm::data_error);
  CHECK_THROWS_WITH_AS(scan("a\tb\n1\n", {'\t', false}),
                       doctest::Contains("line 2: 1 field, where the first row has 2"),
                       bnorm::data_error);
  CHECK_THROWS_WITH_AS(scan("x\n1\n\"2\n"),
                       "t.csv: line 3, column 1: a quoted field that never ends",
                       bnorm::data_error);
}

TEST_CASE("an empty field is NaN only when asked") {
  CHECK_THROWS_AS(scan("1,\n2,3\n"), bnorm::data_error);
  const auto table = scan("1,\n2,3\n", {',', true});
  std::vector<double> values(4);
  table->read_at(0, values);
  CHECK(values[0] == 1);
  CHECK(std::isnan(values[1]));
  CHECK(values[3] == 3);
  CHECK(table->names().empty());
}

TEST_CASE("a wide row is read in chunks of fields from any position") {
  // Rows of about 4096 fields (the chunk a scan takes at once) and more: quoted, escaped and
  // empty fields across the chunks' edges, CRLF, and a last row ending in a separator.
  for (const std::size_t columns : {4095, 4096, 4097, 8193}) {
    CAPTURE(columns);
    std::string text;
    std::vector<double> expected;
    for (std::size_t column = 0; column < columns; ++column) {
      text += column ? "," : "";
      const bool quoted = column % 1000 == 999;
      text += quoted ? "\"n\"\"" : "n";
      text += std::to_string(column);
      text += quoted ? "\"" : "";
    }
    text += "\r\n";
    for (std::size_t row = 0; row < 3; ++row) {
      for (std::size_t column = 0; column < columns; ++column) {
        text += column ? "," : "";
        const bool empty = column + 1 == columns ? row == 2 : (column + row) % 4095 == 0;
        if (empty) {
          expected.push_back(std::nan(""));
          continue;
        }
        const double value = static_cast<double>(row * columns + column) + 0.5;
        expected.push_back(value);
        const bool quoted = column % 4096 < 2;
        text += quoted ? "\"" : "";
        text += std::to_string(row * columns + column);
        text += quoted ? ".5\"" : ".5";
      }
      if (row < 2) text += "\r\n";
    }
    const auto table = scan(text, {',', true});
    REQUIRE(table->rows() == 3);
    REQUIRE(table->columns() == columns);
    CHECK(table->names()[999] == "n\"999");
    CHECK(table->names().back() == std::string("n").append(std::to_string(columns - 1)));
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    for (const std::size_t step :
         {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{4097}, expected.size()}) {
      CAPTURE(step);
      std::vector<double> values(expected.size());
      for (std::size_t p = 0; p < values.size(); p += step) {
        const std::size_t n = std::min(step, values.size() - p);
        table->read_at(p, std::span<double>(values.data() + p, n));
      }
      CHECK(std::equal(values.begin(), values.end(), expected.begin(), same));
    }
    for (std::size_t p = expected.size(); p > 0;) {  // backwards, a range at a time
      const std::size_t n = std::min<std::size_t>(p, 1000);
      p -= n;
      std::vector<double> values(n);
      table->read_at(p, values);
      REQUIRE(std::equal(values.begin(), values.end(), expected.begin() + p, same));
    }
  }
}

TEST_CASE("the first empty or repeated name of a header is told, where it lies") {
  // Headers wider than a chunk of fields (4096), with faults before, at and after its edges;
  // the one told is the first in the row, as a reader going left to right meets it.
  const std::size_t columns = 9000;
  const std::vector<std::vector<std::pair<std::size_t, std::string>>> grids{
      {{5000, ""}},
      {{4096, "n3"}},
      {{8999, "n0"}, {100, ""}},
      {{4095, "n4097"}},  // repeats a later name: the later one is the repeat
      {{7000, "n6999"}, {6000, ""}, {6500, "n1"}}};
  for (const auto& changes : grids) {
    std::vector<std::string> names(columns);
    for (std::size_t i = 0; i < columns; ++i) names[i] = std::string("n").append(std::to_string(i));
    for (const auto& [at, name] : changes) names[at] = name;
    std::string text;
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < columns; ++i) {
      text += i ? "," : "";
      offsets.push_back(text.size());
      text += names[i];
    }
    text += "\n" + std::string(columns * 2 - 1, ',') + "\n";
    std::string expected;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < columns && expected.empty(); ++i) {
      std::string where = "t.csv: line 1, column ";
      where += std::to_string(offsets[i] + 1);
      where += ": column ";
      where += std::to_string(i + 1);
      if (names[i].empty()) {
        expected = where + " of the header has no name";
      } else if (!seen.insert(names[i]).second) {
        expected = where + " of the header repeats the name '" + names[i] + "'";
      }
    }
    CAPTURE(expected);
    CHECK_THROWS_WITH_AS(scan(text, {',', true}), expected.c_str(), bnorm::data_error);
  }
}
