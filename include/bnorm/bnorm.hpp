// SPDX-License-Identifier: Apache-2.0
// bnorm's C++ library: batch normalization exactly as PyTorch, Keras and ONNX compute it, on
// xtensor arrays and on tensor files.  Link the CMake target bnorm::core, or pkg-config's bnorm.
#pragma once

#include <bnorm/array.hpp>
#include <bnorm/batch_norm.hpp>
#include <bnorm/error.hpp>
#include <bnorm/file_batch_norm.hpp>
#include <bnorm/half.hpp>
#include <bnorm/partial_statistics.hpp>
#include <bnorm/tensor_file.hpp>
#include <bnorm/version.hpp>
