// SPDX-License-Identifier: Apache-2.0
// The one tensor a file-level call reads: the file opened, its format settled, the tensor
// picked.
#pragma once

#include <bnorm/file_batch_norm.hpp>
#include <memory>
#include <string>

#include "formats/codec.hpp"
#include "tensor_stream.hpp"

namespace bnorm::lib {

class source_file {
 public:
  /// Opens `path` in `files.input_format` (else as told) and picks `files.tensor`.  Throws
  /// usage_error, data_error or io_error.
  source_file(const std::string& path, const file_options& files);

  const codec& format() const { return *format_; }
  const tensor_source& source() const { return *source_; }

 private:
  const codec* format_ = nullptr;
  std::unique_ptr<tensor_archive> archive_;
  std::unique_ptr<tensor_source> source_;
};

}  // namespace bnorm::lib
