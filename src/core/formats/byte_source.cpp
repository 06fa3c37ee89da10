// SPDX-License-Identifier: Apache-2.0
#include "byte_source.hpp"

#include <cstring>

#include "error.hpp"

namespace bnorm {

std::shared_ptr<const byte_source> byte_source::open(const std::string& path) {
  return from_file(std::make_unique<input_file>(path));
}

std::shared_ptr<const byte_source> byte_source::from_file(std::unique_ptr<input_file> file) {
  std::shared_ptr<byte_source> source(new byte_source);
  source->name_ = file->name();
  if (file->seekable()) {
    source->size_ = file->size();
    source->file_ = std::move(file);
  } else {
    // read_all grows with the bytes that arrive, never with what a header claims.
    source->memory_ = file->read_all();
    source->size_ = source->memory_.size();
  }
  return source;
}

std::shared_ptr<const byte_source> byte_source::from_memory(std::string name, std::string bytes) {
  std::shared_ptr<byte_source> source(new byte_source);
  source->name_ = std::move(name);
  source->memory_ = std::move(bytes);
  source->size_ = source->memory_.size();
  return source;
}

void byte_source::read_exact(std::size_t offset, void* buffer, std::size_t size) const {
  if (size == 0) return;
  if (!file_) {
    std::memcpy(buffer, memory_.data() + offset, size);
    return;
  }
  if (file_->read_at(offset, buffer, size) != size) {
    throw io_error(name_ + ": the file shrank while being read");
  }
}

std::string byte_source::read_string(std::size_t offset, std::size_t size) const {
  std::string bytes(size, '\0');
  read_exact(offset, bytes.data(), size);
  return bytes;
}

}  // namespace bnorm
