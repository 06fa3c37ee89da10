// SPDX-License-Identifier: Apache-2.0
// (outer, channels, inner) for every axis of C- and Fortran-order tensors, checked against
// multi-indices computed directly from the memory order.
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "error.hpp"
#include "layout.hpp"

using bnorm::channel_layout;
using bnorm::data_error;
using bnorm::dtype;
using bnorm::make_layout;
using bnorm::tensor_info;

namespace {

tensor_info info_of(std::vector<std::size_t> shape, bool fortran = false) {
  return tensor_info{dtype::float32(), std::move(shape), fortran};
}

// The index along `axis` of the element at file position `position`: C order varies the last
// index fastest, Fortran order the first.
std::size_t index_along(const std::vector<std::size_t>& shape, bool fortran, std::size_t axis,
                        std::size_t position) {
  const std::size_t rank = shape.size();
  std::vector<std::size_t> index(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    const std::size_t d = fortran ? k : rank - 1 - k;
    index[d] = position % shape[d];
    position /= shape[d];
  }
  return index[axis];
}

}  // namespace

TEST_CASE("make_layout splits a C-order tensor around its channel axis") {
  const tensor_info nchw = info_of({2, 3, 4, 5});
  SUBCASE("channels first (PyTorch, axis 1)") {
    const channel_layout l = make_layout(nchw, 1);
    CHECK(l.outer == 2);
    CHECK(l.channels == 3);
    CHECK(l.inner == 20);
    CHECK(l.axis == 1);
    CHECK(l.count_per_channel() == 40);
    CHECK(l.element_count() == 120);
  }
  SUBCASE("channels last (Keras, axis -1)") {
    const channel_layout l = make_layout(nchw, -1);
    CHECK(l.outer == 24);
    CHECK(l.channels == 5);
    CHECK(l.inner == 1);
    CHECK(l.axis == 3);
    CHECK(l.count_per_channel() == 24);
  }
  SUBCASE("axis 0") {
    const channel_layout l = make_layout(nchw, 0);
    CHECK(l.outer == 1);
    CHECK(l.channels == 2);
    CHECK(l.inner == 60);
  }
  SUBCASE("negative axes count from the end") {
    CHECK(make_layout(nchw, -4).axis == 0);
    CHECK(make_layout(nchw, -3).axis == 1);
    CHECK(make_layout(nchw, -2).axis == 2);
    CHECK(make_layout(nchw, -2).inner == 5);
    CHECK(make_layout(nchw, -2).outer == 6);
  }
}

TEST_CASE("make_layout treats a Fortran-order tensor as the C order of the reversed shape") {
  const tensor_info f = info_of({2, 3, 4, 5}, true);
  SUBCASE("axis 1: runs of d0 values, cycling over d2·d3") {
    const channel_layout l = make_layout(f, 1);
    CHECK(l.inner == 2);
    CHECK(l.channels == 3);
    CHECK(l.outer == 20);
    CHECK(l.axis == 1);
  }
  SUBCASE("axis -1: the last axis varies slowest") {
    const channel_layout l = make_layout(f, -1);
    CHECK(l.inner == 24);
    CHECK(l.channels == 5);
    CHECK(l.outer == 1);
    CHECK(l.axis == 3);
  }
  SUBCASE("axis 0: the first axis varies fastest") {
    const channel_layout l = make_layout(f, 0);
    CHECK(l.inner == 1);
    CHECK(l.channels == 2);
    CHECK(l.outer == 60);
  }
}

TEST_CASE("channel_at agrees with the multi-index of every element") {
  const std::vector<std::vector<std::size_t>> shapes = {{2, 3, 4, 5}, {3, 1, 2}, {6, 4}, {5}};
  for (const auto& shape : shapes) {
    for (const bool fortran : {false, true}) {
      const tensor_info info = info_of(shape, fortran);
      const auto rank = static_cast<long long>(shape.size());
      for (long long axis = -rank; axis < rank; ++axis) {
        CAPTURE(bnorm::shape_to_string(shape));
        CAPTURE(fortran);
        CAPTURE(axis);
        const channel_layout l = make_layout(info, axis);
        const auto normalized = static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
        REQUIRE(l.element_count() == info.element_count());
        std::size_t mismatches = 0;
        for (std::size_t p = 0; p < info.element_count(); ++p) {
          mismatches += l.channel_at(p) != index_along(shape, fortran, normalized, p);
        }
        CHECK(mismatches == 0);
      }
    }
  }
}

TEST_CASE("make_layout of rank 1 and of zero-size tensors") {
  const channel_layout v = make_layout(info_of({7}), 0);
  CHECK(v.outer == 1);
  CHECK(v.channels == 7);
  CHECK(v.inner == 1);
  const channel_layout empty = make_layout(info_of({0, 3}), 1);
  CHECK(empty.channels == 3);
  CHECK(empty.count_per_channel() == 0);
  CHECK(empty.element_count() == 0);
}

TEST_CASE("make_layout refuses an axis outside the rank") {
  CHECK_THROWS_WITH_AS(make_layout(info_of({2, 3, 4, 5}), 4),
                       "axis 4 is outside a tensor of rank 4 (shape (2, 3, 4, 5))", data_error);
  CHECK_THROWS_WITH_AS(make_layout(info_of({2, 3, 4, 5}), -5),
                       "axis -5 is outside a tensor of rank 4 (shape (2, 3, 4, 5))", data_error);
  CHECK_THROWS_WITH_AS(make_layout(info_of({3}), 1),
                       "axis 1 is outside a tensor of rank 1 (shape (3,))", data_error);
  CHECK_THROWS_WITH_AS(make_layout(info_of({}), 0),
                       "axis 0 is outside a tensor of rank 0 (shape ())", data_error);
  CHECK_THROWS_WITH_AS(make_layout(info_of({}), -1),
                       "axis -1 is outside a tensor of rank 0 (shape ())", data_error);
  CHECK_THROWS_WITH_AS(make_layout(info_of({2, 3}), -9223372036854775807LL - 1),
                       "axis -9223372036854775808 is outside a tensor of rank 2 (shape (2, 3))",
                       data_error);
}
