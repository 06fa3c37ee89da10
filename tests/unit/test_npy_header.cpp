// SPDX-License-Identifier: Apache-2.0
// The .npy preamble and header: strict parsing with byte offsets in every refusal, and
// NumPy-identical output.  Reference bytes were produced by NumPy 1.24.2 (/usr/bin/python3)
// and pasted here; the call that produced each is named beside it.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "formats/npy_header.hpp"

using namespace std::string_view_literals;
using bnorm::data_error;
using bnorm::dtype;
using bnorm::scalar_kind;
using bnorm::tensor_info;

namespace {

// Header text as it follows the 10-byte version-1.0 preamble.
bnorm::tensor_info parse(std::string_view text) {
  return bnorm::parse_npy_header(text, 10, 1);
}

// The dict NumPy writes, with {descr}/{order}/{shape} filled in; whitespace after it is valid.
std::string dict(std::string_view descr, std::string_view order, std::string_view shape) {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(order) +
         ", 'shape': " + std::string(shape) + ", }";
}

}  // namespace

TEST_CASE("parse_npy_preamble reads magic, version and header length") {
  SUBCASE("version 1.0: two-byte little-endian length") {
    // the first 10 bytes of np.save(f, np.zeros(3, np.float32))
    const auto p = bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\x76\x00"sv);
    CHECK(p.major_version == 1);
    CHECK(p.header_offset == 10);
    CHECK(p.header_size == 118);
    CHECK(p.data_offset() == 128);
  }
  SUBCASE("version 2.0: four-byte little-endian length") {
    const auto p = bnorm::parse_npy_preamble("\x93NUMPY\x02\x00\x74\x00\x00\x00"sv);
    CHECK(p.major_version == 2);
    CHECK(p.header_offset == 12);
    CHECK(p.header_size == 116);
    CHECK(p.data_offset() == 128);
  }
  SUBCASE("version 3.0") {
    const auto p = bnorm::parse_npy_preamble("\x93NUMPY\x03\x00\x10\x27\x00\x00"sv);
    CHECK(p.major_version == 3);
    CHECK(p.header_offset == 12);
    CHECK(p.header_size == 10000);  // exactly NumPy's limit is still accepted
  }
  SUBCASE("extra bytes after the length are not looked at") {
    const auto p = bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\x02\x01{'descr'"sv);
    CHECK(p.header_size == 258);
  }
}

TEST_CASE("parse_npy_preamble refuses every malformed start") {
  CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble(""), "the file is empty (not a .npy file)",
                       data_error);
  SUBCASE("bad magic") {
    const char* message =
        "header at byte 0: not a .npy file (the magic string \\x93NUMPY is missing)";
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("PK\x03\x04\x14\x00\x00\x00\x00\x00"sv), message,
                         data_error);  // an .npz (zip) file
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPx\x01\x00\x76\x00"sv), message,
                         data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("[[1, 2]]"), message, data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("x"), message, data_error);
  }
  SUBCASE("truncated inside the magic, version or length") {
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUM"sv),
                         "header at byte 4: the file ends inside the magic string", data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01"sv),
                         "header at byte 7: the file ends inside the version", data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\x76"sv),
                         "header at byte 9: the file ends inside the header length", data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x02\x00\x76\x00"sv),
                         "header at byte 10: the file ends inside the header length", data_error);
  }
  SUBCASE("unknown version") {
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x04\x00\x76\x00"sv),
                         "header at byte 6: unknown .npy version 4.0 (1.0, 2.0 and 3.0 exist)",
                         data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x00\x00\x76\x00"sv),
                         "header at byte 6: unknown .npy version 0.0 (1.0, 2.0 and 3.0 exist)",
                         data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01\x01\x76\x00"sv),
                         "header at byte 6: unknown .npy version 1.1 (1.0, 2.0 and 3.0 exist)",
                         data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\xff\x00\x76\x00"sv),
                         "header at byte 6: unknown .npy version 255.0 (1.0, 2.0 and 3.0 exist)",
                         data_error);
  }
  SUBCASE("zero header length") {
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\x00\x00"sv),
                         "header at byte 8: the header length is 0", data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x02\x00\x00\x00\x00\x00"sv),
                         "header at byte 8: the header length is 0", data_error);
  }
  SUBCASE("header length over NumPy's limit of 10000") {
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\x11\x27"sv),
                         "header at byte 8: the header length 10001 exceeds NumPy's limit of 10000",
                         data_error);
    CHECK_THROWS_WITH_AS(bnorm::parse_npy_preamble("\x93NUMPY\x01\x00\xff\xff"sv),
                         "header at byte 8: the header length 65535 exceeds NumPy's limit of 10000",
                         data_error);
    // The 0xFFFFFFF0 that makes xtensor's load_npy allocate 4 GB first.
    CHECK_THROWS_WITH_AS(
        bnorm::parse_npy_preamble("\x93NUMPY\x02\x00\xf0\xff\xff\xff"sv),
        "header at byte 8: the header length 4294967280 exceeds NumPy's limit of 10000",
        data_error);
  }
}

TEST_CASE("parse_npy_header reads the dict NumPy writes") {
  SUBCASE("np.save(f, np.zeros(3, np.float32)): header text with its padding") {
    const std::string text = dict("<f4", "False", "(3,)") + std::string(60, ' ') + "\n";
    const tensor_info info = parse(text);
    CHECK(info.type == dtype::float32());
    CHECK(info.shape == std::vector<std::size_t>{3});
    CHECK_FALSE(info.fortran_order);
  }
  SUBCASE("rank 0") {
    const tensor_info info = parse(dict("<f8", "False", "()"));
    CHECK(info.shape.empty());
    CHECK(info.element_count() == 1);
  }
  SUBCASE("Fortran order, big-endian") {
    const tensor_info info = parse(dict(">i2", "True", "(2, 3)"));
    CHECK(info.type == dtype{scalar_kind::signed_int, 2, true});
    CHECK(info.shape == std::vector<std::size_t>{2, 3});
    CHECK(info.fortran_order);
  }
  SUBCASE("keys in any order, either quote, no trailing comma, any spacing") {
    const tensor_info info =
        parse("{ \"shape\" : ( 4 ,5 , ) ,'fortran_order':True,\t'descr':\"|u1\"}\n");
    CHECK(info.type == dtype{scalar_kind::unsigned_int, 1, false});
    CHECK(info.shape == std::vector<std::size_t>{4, 5});
    CHECK(info.fortran_order);
    const tensor_info sorted_last =
        parse("{'fortran_order': False, 'shape': (7,), 'descr': '<f2'}");
    CHECK(sorted_last.type == dtype::float16());
    CHECK(sorted_last.shape == std::vector<std::size_t>{7});
  }
  SUBCASE("Python 2 long integers such as 3L (files written by NumPy under Python 2)") {
    CHECK(parse(dict("<f8", "False", "(3L, 4L)")).shape == std::vector<std::size_t>{3, 4});
    CHECK(parse(dict("<f8", "False", "(3L,)")).shape == std::vector<std::size_t>{3});
  }
  SUBCASE("zero-size dimensions") {
    CHECK(parse(dict("|b1", "False", "(0,)")).element_count() == 0);
    CHECK(parse(dict("<f8", "False", "(2, 0, 3)")).shape == std::vector<std::size_t>{2, 0, 3});
  }
  SUBCASE("32 dimensions, NumPy's limit") {
    std::string shape = "(";
    for (int i = 0; i < 32; ++i) shape += "1, ";
    shape += ")";
    CHECK(parse(dict("<f4", "False", shape)).shape == std::vector<std::size_t>(32, 1));
  }
  SUBCASE("the largest sizes that still fit in size_t") {
    // 2^64 − 1 one-byte elements, and 2^61 float32 (2^63 bytes).
    CHECK(parse(dict("|u1", "False", "(18446744073709551615,)")).shape ==
          std::vector<std::size_t>{18446744073709551615u});
    CHECK(parse(dict("<f4", "False", "(2305843009213693952,)")).shape ==
          std::vector<std::size_t>{2305843009213693952u});
  }
}

TEST_CASE("parse_npy_header refuses every malformed dict, naming the byte") {
  SUBCASE("not a dict") {
    CHECK_THROWS_WITH_AS(
        parse("[1, 2]"),
        "header at byte 10: the header is not a Python dict literal (expected '{')", data_error);
    CHECK_THROWS_WITH_AS(parse(""), "header at byte 10: the header ends too early", data_error);
    CHECK_THROWS_WITH_AS(parse("   \n"), "header at byte 14: the header ends too early",
                         data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)"),
                         "header at byte 64: the header ends too early", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(3,)") + " x"),
                         "header at byte 68: unexpected text after the header dict", data_error);
    CHECK_THROWS_WITH_AS(parse("{descr: '<f4', 'fortran_order': False, 'shape': (3,), }"),
                         "header at byte 11: expected a quoted key", data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr' '<f4', 'fortran_order': False, 'shape': (3,), }"),
                         "header at byte 19: expected ':' after key 'descr'", data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }"),
                         "header at byte 26: expected ',' or '}' after the value of 'descr'",
                         data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f\\4', 'fortran_order': False, 'shape': (3,), }"),
                         "header at byte 23: unsupported character in a header string", data_error);
  }
  SUBCASE("missing keys") {
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'fortran_order': False, }"),
                         "header at byte 10: missing key 'shape'", data_error);
    CHECK_THROWS_WITH_AS(parse("{'fortran_order': False, 'shape': (3,), }"),
                         "header at byte 10: missing key 'descr'", data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'shape': (3,), }"),
                         "header at byte 10: missing key 'fortran_order'", data_error);
    CHECK_THROWS_WITH_AS(parse("{}"), "header at byte 10: missing key 'descr'", data_error);
  }
  SUBCASE("duplicate keys") {
    CHECK_THROWS_WITH_AS(
        parse("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"),
        "header at byte 27: key 'descr' appears twice", data_error);
    CHECK_THROWS_WITH_AS(
        parse("{'descr': '<f4', 'fortran_order': False, 'fortran_order': True, 'shape': (3,), }"),
        "header at byte 51: key 'fortran_order' appears twice", data_error);
    CHECK_THROWS_WITH_AS(
        parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }"),
        "header at byte 66: key 'shape' appears twice", data_error);
  }
  SUBCASE("extra keys") {
    CHECK_THROWS_WITH_AS(
        parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }"),
        "header at byte 66: unexpected key 'extra' (a .npy header has exactly descr, "
        "fortran_order and shape)",
        data_error);
  }
  SUBCASE("fortran_order must be a Python bool") {
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }"),
                         "header at byte 44: fortran_order must be True or False", data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'fortran_order': true, 'shape': (3,), }"),
                         "header at byte 44: fortran_order must be True or False", data_error);
    CHECK_THROWS_WITH_AS(parse("{'descr': '<f4', 'fortran_order': Truex, 'shape': (3,), }"),
                         "header at byte 48: expected ',' or '}' after the value of "
                         "'fortran_order'",
                         data_error);
  }
  SUBCASE("shape must be a tuple of non-negative integers") {
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "[3]")),
                         "header at byte 60: shape must be a tuple such as (4, 3)", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(4, -3, 2)")),
                         "header at byte 64: shape has a negative dimension", data_error);
    for (const char* shape :
         {"(2.9,)", "(abc,)", "(0x10,)", "(1e3,)", "(3j,)", "(+3,)", "(None,)", "(,)", "('3',)"}) {
      CAPTURE(shape);
      CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", shape)),
                           "header at byte 61: shape must hold non-negative integers", data_error);
    }
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(3,,)")),
                         "header at byte 63: shape must hold non-negative integers", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(3 4)")),
                         "header at byte 63: expected ',' or ')' in shape", data_error);
  }
  SUBCASE("(3) is an integer in parentheses, not a tuple") {
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(3)")),
                         "header at byte 62: shape (3) is an integer, not a tuple; write (3,)",
                         data_error);
  }
  SUBCASE("more than 32 dimensions") {
    std::string shape = "(";
    for (int i = 0; i < 33; ++i) shape += "1, ";
    shape += ")";
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", shape)),
                         "header at byte 157: shape has more than 32 dimensions", data_error);
  }
  SUBCASE("a dimension that overflows size_t") {
    CHECK_THROWS_WITH_AS(parse(dict("|u1", "False", "(18446744073709551616,)")),
                         "header at byte 61: shape has a dimension too large to address",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("|u1", "False", "(3, 99999999999999999999999999999)")),
                         "header at byte 64: shape has a dimension too large to address",
                         data_error);
  }
  SUBCASE("element count × item size that overflows size_t") {
    // 2^61 float64 is 2^64 bytes; 2^32 · 2^32 bytes; 2^64 − 1 int16.
    CHECK_THROWS_WITH_AS(parse(dict("<f8", "False", "(2305843009213693952,)")),
                         "header at byte 10: shape (2305843009213693952,) of float64 is too "
                         "large to address",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("|u1", "False", "(4294967296, 4294967296)")),
                         "header at byte 10: shape (4294967296, 4294967296) of uint8 is too "
                         "large to address",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<i2", "False", "(18446744073709551615,)")),
                         "header at byte 10: shape (18446744073709551615,) of int16 is too "
                         "large to address",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<f4", "False", "(4611686018427387904,)")),
                         "header at byte 10: shape (4611686018427387904,) of float32 is too "
                         "large to address",
                         data_error);
  }
  SUBCASE("dtypes batch normalization does not define") {
    // np.lib.format.dtype_to_descr(np.dtype([('a', '<f4'), ('b', '<i2')]))
    CHECK_THROWS_WITH_AS(
        parse("{'descr': [('a', '<f4'), ('b', '<i2')], 'fortran_order': False, 'shape': (3,), }"),
        "header at byte 20: structured dtypes (a list of fields) are not supported", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<c16", "False", "(3,)")),
                         "header at byte 20: dtype '<c16' is complex, which batch normalization "
                         "does not define",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<U5", "False", "(3,)")),
                         "header at byte 20: dtype '<U5' holds strings, not numbers", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("|S3", "False", "(3,)")),
                         "header at byte 20: dtype '|S3' holds strings, not numbers", data_error);
    CHECK_THROWS_WITH_AS(parse(dict("|O", "False", "(3,)")),  // np.dtype(object)
                         "header at byte 20: dtype '|O' holds Python objects (pickled data is "
                         "never loaded)",
                         data_error);
    CHECK_THROWS_WITH_AS(parse(dict("<M8[ns]", "False", "(3,)")),
                         "header at byte 20: dtype '<M8[ns]' is a date/time type", data_error);
  }
}

TEST_CASE("format_npy_header writes NumPy's bytes exactly") {
  // Each: the bytes before the data in io.BytesIO after np.save(f, a), a as named, written as
  // the preamble and dict text, then NumPy's run of padding spaces and its final newline.
  struct reference {
    tensor_info info;
    std::string_view dict_bytes;
    std::size_t padding;
  };
  const dtype f4_big{scalar_kind::floating, 4, true};
  const reference cases[] = {
      // np.array(1.5): rank 0 has no growth-axis padding
      {{dtype::float64(), {}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }"sv,
       62},
      // np.zeros(3, np.float32)
      {{dtype::float32(), {3}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"sv,
       60},
      // np.zeros((2, 3), np.int16)
      {{dtype{scalar_kind::signed_int, 2, false}, {2, 3}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"sv,
       58},
      // np.asfortranarray(np.zeros((2, 3)))
      {{dtype::float64(), {2, 3}, true},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"sv,
       59},
      // np.zeros((4, 5), '>f4')
      {{f4_big, {4, 5}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '>f4', 'fortran_order': False, 'shape': (4, 5), }"sv,
       58},
      // np.zeros(0, bool)
      {{dtype{scalar_kind::boolean, 1, false}, {0}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }"sv,
       60},
      // np.zeros((64, 3), np.uint8)
      {{dtype{scalar_kind::unsigned_int, 1, false}, {64, 3}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '|u1', 'fortran_order': False, 'shape': (64, 3), }"sv,
       57},
      // np.zeros((1, 2, 3, 4, 5), np.float16)
      {{dtype::float16(), {1, 2, 3, 4, 5}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f2', 'fortran_order': False, "
       "'shape': (1, 2, 3, 4, 5), }"sv,
       49},
      // np.asfortranarray(np.zeros((3, 1000))): the growth axis is the last one
      {{dtype::float64(), {3, 1000}, true},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': True, 'shape': (3, 1000), }"sv,
       56},
      // np.lib.format._write_array_header(f, {'descr': '<f8', 'fortran_order': False,
      //     'shape': (18446744073709551615, 2)}, (1, 0)): a 20-digit growth axis
      {{dtype::float64(), {18446744073709551615u, 2}, false},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, "
       "'shape': (18446744073709551615, 2), }"sv,
       39},
      // the same with {'descr': '<f4', 'fortran_order': True, 'shape': (2, 18446744073709551615)}
      {{dtype::float32(), {2, 18446744073709551615u}, true},
       "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': True, "
       "'shape': (2, 18446744073709551615), }"sv,
       40},
  };
  for (const reference& r : cases) {
    CAPTURE(bnorm::shape_to_string(r.info.shape));
    const std::string expected = std::string(r.dict_bytes) + std::string(r.padding, ' ') + "\n";
    REQUIRE(expected.size() == 128);  // every one of these NumPy headers is 128 bytes
    CHECK(bnorm::format_npy_header(r.info) == expected);
  }
}

TEST_CASE("format_npy_header switches to version 2.0 when the header outgrows 65535 bytes") {
  // np.lib.format._write_array_header(f, {'descr': '<f8', 'fortran_order': False,
  //     'shape': (1,) * 22000}) writes 66112 bytes: version 2.0, length 0x00010234 = 66100.
  const tensor_info info{dtype::float64(), std::vector<std::size_t>(22000, 1), false};
  const std::string header = bnorm::format_npy_header(info);
  CHECK(header.size() == 66112);
  CHECK(std::string_view(header).substr(0, 12) == "\x93NUMPY\x02\x00\x34\x02\x01\x00"sv);
  std::string dict_text = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 21999; ++i) dict_text += "1, ";
  dict_text += "1), }";
  CHECK(std::string_view(header).substr(12, dict_text.size()) == dict_text);
  // NumPy's bytes hold 22051 spaces in all, and end with spaces and one newline.
  std::size_t spaces = 0;
  for (char c : header) spaces += c == ' ';
  CHECK(spaces == 22051);
  CHECK(header.back() == '\n');
  CHECK(header.find_first_not_of(' ', 12 + dict_text.size()) == header.size() - 1);
}

TEST_CASE("format_npy_header output parses back to the same tensor_info") {
  const tensor_info infos[] = {
      {dtype::float64(), {}, false},
      {dtype::float16(), {5}, false},
      {dtype{scalar_kind::signed_int, 8, true}, {2, 3, 4}, true},
      {dtype{scalar_kind::boolean, 1, false}, {0, 7}, false},
  };
  for (const tensor_info& info : infos) {
    const std::string header = bnorm::format_npy_header(info);
    const auto preamble = bnorm::parse_npy_preamble(header);
    CHECK(preamble.data_offset() == header.size());
    CHECK(preamble.data_offset() % 64 == 0);
    const tensor_info back =
        bnorm::parse_npy_header(std::string_view(header).substr(preamble.header_offset),
                                preamble.header_offset, preamble.major_version);
    CHECK(back.type == info.type);
    CHECK(back.shape == info.shape);
    CHECK(back.fortran_order == info.fortran_order);
  }
}

TEST_CASE("tensor_info counts elements and bytes; shapes print as Python tuples") {
  CHECK(tensor_info{dtype::float32(), {4, 3, 5}, false}.element_count() == 60);
  CHECK(tensor_info{dtype::float32(), {4, 3, 5}, false}.size_in_bytes() == 240);
  CHECK(tensor_info{dtype::float64(), {}, false}.element_count() == 1);
  CHECK(tensor_info{dtype::float64(), {3, 0}, false}.size_in_bytes() == 0);
  CHECK(bnorm::shape_to_string({4, 3, 5, 5}) == "(4, 3, 5, 5)");
  CHECK(bnorm::shape_to_string({3}) == "(3,)");
  CHECK(bnorm::shape_to_string({}) == "()");
}
