// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <string>

#include "utf8.hpp"

using bnorm::is_valid_utf8;
using bnorm::surrogates;

TEST_CASE("is_valid_utf8 takes what Python's decoder takes, surrogates only when let through") {
  for (const char* text : {"", "ascii", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                           "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"}) {
    CAPTURE(text);
    CHECK(is_valid_utf8(text));
    CHECK(is_valid_utf8(text, surrogates::allowed));
  }
  // Overlong forms, past U+10FFFF, stray continuation bytes, truncated sequences.
  for (const char* text :
       {"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\x80", "\xc3", "\xe2\x82", "a\xffz"}) {
    CAPTURE(text);
    CHECK_FALSE(is_valid_utf8(text));
    CHECK_FALSE(is_valid_utf8(text, surrogates::allowed));
  }
  // U+D800 and U+DFFF: refused by "utf-8", passed by "surrogatepass" (pickle's str).
  for (const char* text : {"\xed\xa0\x80", "\xed\xbf\xbf"}) {
    CAPTURE(text);
    CHECK_FALSE(is_valid_utf8(text));
    CHECK(is_valid_utf8(text, surrogates::allowed));
  }
  CHECK(is_valid_utf8(std::string("a\0b", 3)));
}
