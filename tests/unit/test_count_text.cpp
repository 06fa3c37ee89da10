// SPDX-License-Identifier: Apache-2.0
// Counts before nouns: one is singular, every other count plural.
#include <doctest/doctest.h>

#include "count_text.hpp"

using bnorm::count_text;

TEST_CASE("one place, other places") {
  CHECK(count_text(0, "place") == "0 places");
  CHECK(count_text(1, "place") == "1 place");
  CHECK(count_text(2, "place") == "2 places");
  CHECK(count_text(1, "pass", "passes") == "1 pass");
  CHECK(count_text(3, "pass", "passes") == "3 passes");
}
