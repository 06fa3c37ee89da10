// SPDX-License-Identifier: Apache-2.0
// Shortest round-trip text per output type, and the words for non-finite values.
#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "dtype.hpp"
#include "half.hpp"
#include "number_format.hpp"

using bnorm::dtype;
using bnorm::format_number;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

double parse_double(const std::string& text) {
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  REQUIRE(result.ec == std::errc());
  REQUIRE(result.ptr == text.data() + text.size());
  return value;
}

}  // namespace

TEST_CASE("float64 numbers are written as the shortest text that reads back exactly") {
  CHECK(format_number(0.1, dtype::float64()) == "0.1");
  CHECK(format_number(0.1 + 0.2, dtype::float64()) == "0.30000000000000004");
  CHECK(format_number(1.0, dtype::float64()) == "1");
  CHECK(format_number(-2.5, dtype::float64()) == "-2.5");
  CHECK(format_number(123456789.0, dtype::float64()) == "123456789");
  CHECK(format_number(9007199254740993.0, dtype::float64()) == "9007199254740992");  // 2^53
  CHECK(format_number(1e300, dtype::float64()) == "1e+300");
  CHECK(format_number(1e-5, dtype::float64()) == "1e-05");
  CHECK(format_number(5e-324, dtype::float64()) == "5e-324");  // smallest subnormal
  CHECK(format_number(1.7976931348623157e308, dtype::float64()) == "1.7976931348623157e+308");
  CHECK(format_number(0.0, dtype::float64()) == "0");
  CHECK(format_number(-0.0, dtype::float64()) == "-0.0");  // "-0" is an integer to Python
}

TEST_CASE("float32 numbers are written as the shortest text that reads back as the same float") {
  // The value is rounded to float32 first, so the double 0.1 and the float 0.1f print alike.
  CHECK(format_number(0.1, dtype::float32()) == "0.1");
  CHECK(format_number(static_cast<double>(0.1f), dtype::float32()) == "0.1");
  CHECK(format_number(1.0 / 3.0, dtype::float32()) == "0.33333334");
  CHECK(format_number(16777217.0, dtype::float32()) == "16777216");  // 2^24 + 1 → 2^24
  CHECK(format_number(65504.0, dtype::float32()) == "65504");
  CHECK(format_number(3.4028234663852886e38, dtype::float32()) == "3.4028235e+38");
  CHECK(format_number(1.401298464324817e-45, dtype::float32()) == "1e-45");
  CHECK(format_number(1e-46, dtype::float32()) == "0");  // below half the smallest subnormal
  CHECK(format_number(-0.0, dtype::float32()) == "-0.0");
  SUBCASE("values beyond float32's range become infinities") {
    CHECK(format_number(1e39, dtype::float32()) == "Infinity");
    CHECK(format_number(-1e39, dtype::float32()) == "-Infinity");
  }
}

TEST_CASE("float16 numbers are written as the shortest text that reads back as the same half") {
  CHECK(format_number(0.1, dtype::float16()) == "0.1");           // the half is 0.0999755859375
  CHECK(format_number(1.0 / 3.0, dtype::float16()) == "0.3333");  // NumPy prints 0.3333 too
  CHECK(format_number(0.5, dtype::float16()) == "0.5");
  CHECK(format_number(-2.5, dtype::float16()) == "-2.5");
  CHECK(format_number(1.0, dtype::float16()) == "1");
  CHECK(format_number(2048.0, dtype::float16()) == "2048");
  CHECK(format_number(0x1p-24, dtype::float16()) == "6e-08");  // NumPy: 6e-08
  CHECK(format_number(1e-8, dtype::float16()) == "0");         // underflows to +0
  CHECK(format_number(-0.0, dtype::float16()) == "-0.0");
  CHECK(format_number(1.0 + 0x1p-11, dtype::float16()) == "1");  // rounds to even first
  CHECK(format_number(65519.0, dtype::float16()) != "Infinity");
  SUBCASE("values beyond float16's range become infinities") {
    CHECK(format_number(65520.0, dtype::float16()) == "Infinity");
    CHECK(format_number(-70000.0, dtype::float16()) == "-Infinity");
  }
}

// Regression: whole float16 numbers of two digits or more came out in scientific notation
// ("1e+01", "6.55e+04") because the float16 path used chars_format::general with a
// precision, which is printf's %g.  float32 and float64 write "10" and "65504"; the shortest
// text for these halves is "10", "100", "1000", "65500" (NumPy prints 10.0, 100.0, 1000.0,
// 65500.0).
TEST_CASE("float16 whole numbers are not written in scientific notation") {
  CHECK(format_number(10.0, dtype::float16()) == "10");
  CHECK(format_number(100.0, dtype::float16()) == "100");
  CHECK(format_number(1000.0, dtype::float16()) == "1000");
  CHECK(format_number(65504.0, dtype::float16()) == "65500");
  CHECK(format_number(-300.0, dtype::float16()) == "-300");
}

TEST_CASE("every finite float16 value is written as text that reads back to it") {
  int wrong = 0;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00) continue;  // infinities and NaNs are checked elsewhere
    const std::string text = format_number(bnorm::half_to_double(h), dtype::float16());
    if (bnorm::double_to_half(parse_double(text)) != h && ++wrong <= 3) {
      FAIL_CHECK("half " << bits << " is written " << text << ", which reads back differently");
    }
  }
  CHECK(wrong == 0);
}

// Regression, the general form of the one above: every half is exactly a float, and the
// float's shortest text also reads back to the half, so a half's shortest text is never
// longer than the same value's float32 text.
TEST_CASE("no float16 value is written longer than the same value as float32") {
  int longer = 0;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00) continue;
    const double value = bnorm::half_to_double(h);
    const std::string text = format_number(value, dtype::float16());
    const std::string as_float = format_number(value, dtype::float32());
    if (text.size() > as_float.size() && ++longer <= 3) {
      FAIL_CHECK("half " << bits << " is written " << text << ", as float32 " << as_float);
    }
  }
  CHECK(longer == 0);
}

TEST_CASE("float32 and float64 text reads back to the same value") {
  const double samples[] = {0.1, 1.0 / 3.0, 1e-310, 2.5e-8, 123456.789, 6.02214076e23, -7e-45};
  for (double v : samples) {
    CAPTURE(v);
    CHECK(parse_double(format_number(v, dtype::float64())) == v);
    const float f = static_cast<float>(v);
    CHECK(static_cast<float>(parse_double(format_number(v, dtype::float32()))) == f);
  }
}

TEST_CASE("non-finite values use the words Python's json module reads") {
  for (const dtype type : {dtype::float16(), dtype::float32(), dtype::float64()}) {
    CAPTURE(bnorm::name_of(type));
    CHECK(format_number(qnan, type) == "NaN");
    CHECK(format_number(-qnan, type) == "NaN");
    CHECK(format_number(inf, type) == "Infinity");
    CHECK(format_number(-inf, type) == "-Infinity");
  }
}

TEST_CASE("append_number appends to what the string already holds") {
  std::string out = "[";
  bnorm::append_number(out, 0.25, dtype::float64());
  out += ", ";
  bnorm::append_number(out, -inf, dtype::float32());
  CHECK(out == "[0.25, -Infinity");
}
