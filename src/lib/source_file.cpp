// SPDX-License-Identifier: Apache-2.0
#include "source_file.hpp"

#include "formats/registry.hpp"
#include "public_types.hpp"

namespace bnorm::lib {

source_file::source_file(const std::string& path, const file_options& files) {
  opened_input input = open_input(path, format_named(files.input_format));
  format_ = input.format;
  archive_ = format_->open(std::move(input.file), {});
  source_ = pick_tensor(*archive_, files.tensor);
}

}  // namespace bnorm::lib
