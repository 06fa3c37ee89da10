// SPDX-License-Identifier: Apache-2.0
// The array type of libbnorm's compiled functions: xtensor's xarray with its default allocator,
// layout and shape, spelled out, so that a caller whose translation unit configures xtensor
// otherwise (XTENSOR_USE_XSIMD's aligned allocator, XTENSOR_DEFAULT_LAYOUT...) names the same
// type as the library, and links.
#pragma once

#include <cstddef>
#include <memory>
#include <xtensor/xarray.hpp>

namespace bnorm {

/// An xt::xarray of T as libbnorm is compiled with it: row-major, std::allocator, a small-vector
/// shape.  It is xt::xarray<T> under xtensor's defaults; a caller's own xt::xarray of another
/// allocator or layout converts to and from it by assignment.
template <class T>
using array = xt::xarray_container<xt::uvector<T, std::allocator<T>>, xt::layout_type::row_major,
                                   xt::svector<std::size_t, 4, std::allocator<std::size_t>, true>,
                                   xt::xtensor_expression_tag>;

}  // namespace bnorm
