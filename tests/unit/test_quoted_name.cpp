// SPDX-License-Identifier: Apache-2.0
// How messages quote names read from files: escaped to one line, and short whatever the name.
#include <doctest/doctest.h>

#include <string>

#include "quoted_name.hpp"

using bnorm::quoted_name;

TEST_CASE("quoted_name escapes every byte that is not printable ASCII") {
  CHECK(quoted_name("x.npy") == "'x.npy'");
  CHECK(quoted_name(std::string("a\nb'\\\xff", 6)) == "'a\\x0ab\\x27\\x5c\\xff'");
}

TEST_CASE("quoted_name shows a long name's first 64 bytes and its length") {
  // A 95 MB safetensors key once became a 95 MB (or 4x escaped) error line.
  const std::string name(100'000'000, '\x01');
  const std::string text = quoted_name(name);
  CHECK(text.size() < 400);
  std::string escaped;
  for (int i = 0; i < 64; ++i) escaped += "\\x01";
  CHECK(text == "'" + escaped + "...' (a name of 100000000 bytes)");
  CHECK(quoted_name(std::string(64, 'n')) == "'" + std::string(64, 'n') + "'");
  CHECK(quoted_name(std::string(65, 'n')) ==
        "'" + std::string(64, 'n') + "...' (a name of 65 bytes)");
}
