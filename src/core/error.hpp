// SPDX-License-Identifier: Apache-2.0
// The core's errors are the public ones: usage_error, data_error and io_error, with their fault.
#pragma once

#include <bnorm/error.hpp>
