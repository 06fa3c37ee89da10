// SPDX-License-Identifier: Apache-2.0
// NumPy type strings and the byte-level conversions.  Byte strings are the data part of
// np.save output (NumPy 1.24), named by the call that produced them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"

using namespace std::string_view_literals;
using bnorm::data_error;
using bnorm::dtype;
using bnorm::scalar_kind;

namespace {

std::vector<double> decode_bytes(const char* descr, std::string_view bytes) {
  const dtype type = bnorm::parse_descr(descr);
  std::vector<double> out(bytes.size() / type.size);
  bnorm::decode(type, reinterpret_cast<const std::byte*>(bytes.data()), out.size(), out.data());
  return out;
}

std::string encode_values(dtype type, const std::vector<double>& values) {
  std::string out(values.size() * type.size, '\0');
  bnorm::encode(type, values.data(), values.size(), reinterpret_cast<std::byte*>(out.data()));
  return out;
}

}  // namespace

TEST_CASE("parse_descr reads the type strings NumPy writes") {
  CHECK(bnorm::parse_descr("<f4") == dtype::float32());
  CHECK(bnorm::parse_descr("<f2") == dtype::float16());
  CHECK(bnorm::parse_descr("<f8") == dtype::float64());
  CHECK(bnorm::parse_descr(">f8") == dtype{scalar_kind::floating, 8, true});
  CHECK(bnorm::parse_descr(">f2") == dtype{scalar_kind::floating, 2, true});
  CHECK(bnorm::parse_descr("|b1") == dtype{scalar_kind::boolean, 1, false});
  CHECK(bnorm::parse_descr("|u1") == dtype{scalar_kind::unsigned_int, 1, false});
  CHECK(bnorm::parse_descr("|i1") == dtype{scalar_kind::signed_int, 1, false});
  CHECK(bnorm::parse_descr("<i2") == dtype{scalar_kind::signed_int, 2, false});
  CHECK(bnorm::parse_descr(">i4") == dtype{scalar_kind::signed_int, 4, true});
  CHECK(bnorm::parse_descr("<i8") == dtype{scalar_kind::signed_int, 8, false});
  CHECK(bnorm::parse_descr(">u8") == dtype{scalar_kind::unsigned_int, 8, true});

  SUBCASE("native and missing byte order mean little-endian on bnorm's hosts") {
    CHECK(bnorm::parse_descr("=f4") == dtype::float32());
    CHECK(bnorm::parse_descr("f4") == dtype::float32());
  }
  SUBCASE("byte order of one-byte types does not matter") {
    CHECK(bnorm::parse_descr(">u1") == dtype{scalar_kind::unsigned_int, 1, false});
    CHECK(bnorm::parse_descr(">b1") == dtype{scalar_kind::boolean, 1, false});
  }
}

TEST_CASE("parse_descr refuses what it cannot read, naming why") {
  CHECK_THROWS_WITH_AS(bnorm::parse_descr(""), "dtype '' is empty", data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<c16"),
                       "dtype '<c16' is complex, which batch normalization does not define",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<c8"),
                       "dtype '<c8' is complex, which batch normalization does not define",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<U5"), "dtype '<U5' holds strings, not numbers",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("|S3"), "dtype '|S3' holds strings, not numbers",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("|V8"), "dtype '|V8' is a void (raw bytes) type",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<f16"),
                       "dtype '<f16' is not supported (float16, float32 and float64 are)",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<f1"),
                       "dtype '<f1' is not supported (float16, float32 and float64 are)",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<i3"), "dtype '<i3' is not a supported integer size",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<u16"), "dtype '<u16' is not a supported integer size",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("|b2"), "dtype '|b2' is not a valid boolean type",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<x4"), "dtype '<x4' is not a known NumPy type",
                       data_error);
  // NumPy reads '<f' as float32, but never writes it; bnorm asks for the size.
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<f"),
                       "dtype '<f' is not supported (float16, float32 and float64 are)",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<f4x"), "dtype '<f4x' is not a NumPy type string",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<"), "dtype '<' is not a NumPy type string", data_error);

  SUBCASE("a long digit string neither overflows nor is accepted") {
    CHECK_THROWS_WITH_AS(bnorm::parse_descr("<f99999999999999999999999"),
                         "dtype '<f99999999999999999999999' is not a NumPy type string",
                         data_error);
  }
  SUBCASE("leading zeros in the size are read as NumPy reads them") {
    // np.dtype('<f00000000000000000000004') is float32
    CHECK(bnorm::parse_descr("<f00000000000000000000004") == dtype::float32());
  }
}

// Regression guard: NumPy 1.24 writes object arrays as '|O' and datetimes as '<M8[ns]'
// (np.lib.format.dtype_to_descr(np.dtype(object)) and (np.dtype('M8[ns]'))).  Both were once
// refused as "not a NumPy type string" because the size was parsed before the kind.
TEST_CASE("the object and datetime type strings NumPy writes get their own messages") {
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("|O"),
                       "dtype '|O' holds Python objects (pickled data is never loaded)",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("|O8"),
                       "dtype '|O8' holds Python objects (pickled data is never loaded)",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<M8[ns]"), "dtype '<M8[ns]' is a date/time type",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<m8[s]"), "dtype '<m8[s]' is a date/time type",
                       data_error);
  CHECK_THROWS_WITH_AS(bnorm::parse_descr("<M8"), "dtype '<M8' is a date/time type", data_error);
}

TEST_CASE("descr_of writes NumPy's type strings") {
  CHECK(bnorm::descr_of(dtype::float32()) == "<f4");
  CHECK(bnorm::descr_of(dtype::float16()) == "<f2");
  CHECK(bnorm::descr_of(dtype{scalar_kind::floating, 8, true}) == ">f8");
  CHECK(bnorm::descr_of(dtype{scalar_kind::boolean, 1, false}) == "|b1");
  CHECK(bnorm::descr_of(dtype{scalar_kind::unsigned_int, 1, false}) == "|u1");
  CHECK(bnorm::descr_of(dtype{scalar_kind::signed_int, 1, false}) == "|i1");
  CHECK(bnorm::descr_of(dtype{scalar_kind::signed_int, 2, true}) == ">i2");
  CHECK(bnorm::descr_of(dtype{scalar_kind::unsigned_int, 8, false}) == "<u8");

  SUBCASE("every type string bnorm reads is written back unchanged") {
    for (const char* descr :
         {"<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "|b1", "|i1", "|u1", "<i2", ">i2",
          "<i4", ">i4", "<i8", ">i8", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8"}) {
      CAPTURE(descr);
      CHECK(bnorm::descr_of(bnorm::parse_descr(descr)) == descr);
    }
  }
}

TEST_CASE("name_of gives a person's name for the type") {
  CHECK(bnorm::name_of(dtype::float32()) == "float32");
  CHECK(bnorm::name_of(dtype::float16()) == "float16");
  CHECK(bnorm::name_of(dtype::float64()) == "float64");
  CHECK(bnorm::name_of(dtype{scalar_kind::floating, 8, true}) == ">float64");
  CHECK(bnorm::name_of(dtype{scalar_kind::signed_int, 2, false}) == "int16");
  CHECK(bnorm::name_of(dtype{scalar_kind::unsigned_int, 1, false}) == "uint8");
  CHECK(bnorm::name_of(dtype{scalar_kind::unsigned_int, 4, true}) == ">uint32");
  CHECK(bnorm::name_of(dtype{scalar_kind::boolean, 1, false}) == "bool");
}

TEST_CASE("output_type_for keeps floating precision and turns the rest into float32") {
  CHECK(bnorm::output_type_for(dtype::float16()) == dtype::float16());
  CHECK(bnorm::output_type_for(dtype::float64()) == dtype::float64());
  CHECK(bnorm::output_type_for(dtype{scalar_kind::floating, 4, true}) == dtype::float32());
  CHECK(bnorm::output_type_for(dtype{scalar_kind::floating, 2, true}) == dtype::float16());
  CHECK(bnorm::output_type_for(dtype{scalar_kind::boolean, 1, false}) == dtype::float32());
  CHECK(bnorm::output_type_for(dtype{scalar_kind::signed_int, 8, false}) == dtype::float32());
  CHECK(bnorm::output_type_for(dtype{scalar_kind::unsigned_int, 1, false}) == dtype::float32());
}

TEST_CASE("decode reads every type in both byte orders") {
  using v = std::vector<double>;
  // np.array([1, -2, 0.5, 65504, 2**-24], '<f2') and '>f2'
  CHECK(decode_bytes("<f2", "\x00\x3c\x00\xc0\x00\x38\xff\x7b\x01\x00"sv) ==
        v{1, -2, 0.5, 65504, 0x1p-24});
  CHECK(decode_bytes(">f2", "\x3c\x00\xc0\x00\x38\x00\x7b\xff\x00\x01"sv) ==
        v{1, -2, 0.5, 65504, 0x1p-24});
  // np.array([1.5, -2.25, 0.1], '<f4') and '>f4'
  CHECK(decode_bytes("<f4", "\x00\x00\xc0\x3f\x00\x00\x10\xc0\xcd\xcc\xcc\x3d"sv) ==
        v{1.5, -2.25, static_cast<double>(0.1f)});
  CHECK(decode_bytes(">f4", "\x3f\xc0\x00\x00\xc0\x10\x00\x00\x3d\xcc\xcc\xcd"sv) ==
        v{1.5, -2.25, static_cast<double>(0.1f)});
  // np.array([0.1, -1e300], '<f8') and '>f8'
  CHECK(decode_bytes("<f8", "\x9a\x99\x99\x99\x99\x99\xb9\x3f\x9c\x75\x00\x88\x3c\xe4\x37\xfe"sv) ==
        v{0.1, -1e300});
  CHECK(decode_bytes(">f8", "\x3f\xb9\x99\x99\x99\x99\x99\x9a\xfe\x37\xe4\x3c\x88\x00\x75\x9c"sv) ==
        v{0.1, -1e300});
  // np.array([-128, 127, -1], '|i1')
  CHECK(decode_bytes("|i1", "\x80\x7f\xff"sv) == v{-128, 127, -1});
  // np.array([-32768, 32767, -2], '<i2') and '>i2'
  CHECK(decode_bytes("<i2", "\x00\x80\xff\x7f\xfe\xff"sv) == v{-32768, 32767, -2});
  CHECK(decode_bytes(">i2", "\x80\x00\x7f\xff\xff\xfe"sv) == v{-32768, 32767, -2});
  // np.array([-2**31, 2**31-1], '<i4') and '>i4'
  CHECK(decode_bytes("<i4", "\x00\x00\x00\x80\xff\xff\xff\x7f"sv) ==
        v{-2147483648.0, 2147483647.0});
  CHECK(decode_bytes(">i4", "\x80\x00\x00\x00\x7f\xff\xff\xff"sv) ==
        v{-2147483648.0, 2147483647.0});
  // np.array([-2**63, 2**53+1], '<i8') and '>i8': 2^53 + 1 rounds to 2^53 (ties to even)
  CHECK(decode_bytes("<i8",
                     "\x00\x00\x00\x00\x00\x00\x00\x80"sv
                     "\x01\x00\x00\x00\x00\x00\x20\x00"sv) == v{-0x1p63, 0x1p53});
  CHECK(decode_bytes(">i8",
                     "\x80\x00\x00\x00\x00\x00\x00\x00"sv
                     "\x00\x20\x00\x00\x00\x00\x00\x01"sv) == v{-0x1p63, 0x1p53});
  // np.array([0, 255], '|u1')
  CHECK(decode_bytes("|u1", "\x00\xff"sv) == v{0, 255});
  // np.array([65535, 258], '<u2') and '>u2'
  CHECK(decode_bytes("<u2", "\xff\xff\x02\x01"sv) == v{65535, 258});
  CHECK(decode_bytes(">u2", "\xff\xff\x01\x02"sv) == v{65535, 258});
  // np.array([2**32-1, 16909060], '<u4') and '>u4'
  CHECK(decode_bytes("<u4", "\xff\xff\xff\xff\x04\x03\x02\x01"sv) == v{4294967295.0, 16909060});
  CHECK(decode_bytes(">u4", "\xff\xff\xff\xff\x01\x02\x03\x04"sv) == v{4294967295.0, 16909060});
  // np.array([2**64-1, 1], '<u8') and '>u8': 2^64 − 1 rounds to 2^64
  CHECK(decode_bytes("<u8",
                     "\xff\xff\xff\xff\xff\xff\xff\xff"sv
                     "\x01\x00\x00\x00\x00\x00\x00\x00"sv) == v{0x1p64, 1});
  CHECK(decode_bytes(">u8",
                     "\xff\xff\xff\xff\xff\xff\xff\xff"sv
                     "\x00\x00\x00\x00\x00\x00\x00\x01"sv) == v{0x1p64, 1});
  // np.array([False, True], '|b1')
  CHECK(decode_bytes("|b1", "\x00\x01"sv) == v{0, 1});
}

TEST_CASE("decode treats any non-zero bool byte as True, as NumPy does") {
  CHECK(decode_bytes("|b1", "\x02\xff\x00\x80"sv) == std::vector<double>{1, 1, 0, 1});
}

TEST_CASE("decode keeps NaN, infinities and negative zero") {
  // np.array([np.nan, -np.inf, -0.0], '<f4')
  const std::vector<double> f4 =
      decode_bytes("<f4", "\x00\x00\xc0\x7f\x00\x00\x80\xff\x00\x00\x00\x80"sv);
  CHECK(std::isnan(f4[0]));
  CHECK(f4[1] == -HUGE_VAL);
  CHECK(f4[2] == 0.0);
  CHECK(std::signbit(f4[2]));
  // np.array([np.inf, -0.0], '>f2')
  const std::vector<double> f2 = decode_bytes(">f2", "\x7c\x00\x80\x00"sv);
  CHECK(f2[0] == HUGE_VAL);
  CHECK(std::signbit(f2[1]));
}

TEST_CASE("encode writes correctly rounded little-endian floats") {
  SUBCASE("float64 is copied bit for bit") {
    // np.array([0.1, -1e300], '<f8').tobytes()
    CHECK(encode_values(dtype::float64(), {0.1, -1e300}) ==
          "\x9a\x99\x99\x99\x99\x99\xb9\x3f\x9c\x75\x00\x88\x3c\xe4\x37\xfe"sv);
  }
  SUBCASE("float32") {
    // np.array([1.5, -2.25, 0.1], '<f4').tobytes()
    CHECK(encode_values(dtype::float32(), {1.5, -2.25, 0.1}) ==
          "\x00\x00\xc0\x3f\x00\x00\x10\xc0\xcd\xcc\xcc\x3d"sv);
    // 1 + 2^-24 is halfway between 1 and 1 + 2^-23: even is 1 (0x3f800000);
    // 1 + 3·2^-24 is halfway between 1 + 2^-23 and 1 + 2^-22: even is 0x3f800002.
    CHECK(encode_values(dtype::float32(), {1.0 + 0x1p-24, 1.0 + 3 * 0x1p-24}) ==
          "\x00\x00\x80\x3f\x02\x00\x80\x3f"sv);
    // 1e39 overflows float32 to +inf (0x7f800000)
    CHECK(encode_values(dtype::float32(), {1e39}) == "\x00\x00\x80\x7f"sv);
  }
  SUBCASE("float16") {
    // np.array([1, -2, 0.5, 65504, 2**-24], '<f2').tobytes()
    CHECK(encode_values(dtype::float16(), {1, -2, 0.5, 65504, 0x1p-24}) ==
          "\x00\x3c\x00\xc0\x00\x38\xff\x7b\x01\x00"sv);
    // 1 + 2^-11 + 2^-40 is above the tie: 0x3c01, not the 0x3c00 a float detour gives
    CHECK(encode_values(dtype::float16(), {1.0 + 0x1p-11 + 0x1p-40, 65520}) ==
          "\x01\x3c\x00\x7c"sv);
  }
}
