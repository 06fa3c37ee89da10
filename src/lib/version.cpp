// SPDX-License-Identifier: Apache-2.0
#include <bnorm/version.hpp>

namespace bnorm {

std::string_view version() noexcept {
  return BNORM_VERSION_STRING;
}

}  // namespace bnorm
