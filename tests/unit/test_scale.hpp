// SPDX-License-Identifier: Apache-2.0
// How large the scaling cases are.  Under the sanitizers (the dev preset) each step costs ten
// times as much and the cases took over a minute of the suite, so they run smaller there,
// through the same code; the Release build runs the full sizes, which the time bounds are for.
#pragma once

namespace bnorm_test {

#ifdef BNORM_SANITIZED
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

/// `full` in a plain build, `small` under AddressSanitizer and UBSan.
constexpr int scaled(int full, int small) {
  return sanitized ? small : full;
}

}  // namespace bnorm_test
