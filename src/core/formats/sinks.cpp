// SPDX-License-Identifier: Apache-2.0
#include "sinks.hpp"

#include <utility>

namespace bnorm {
namespace {

class headed_sink : public tensor_sink {
 public:
  headed_sink(output_file& out, const std::string& header, dtype type)
      : out_(out), type_(type), data_offset_(header.size()) {
    if (out_.direct()) {
      out_.write(header);
    } else {
      out_.write_at(0, header.data(), header.size());
    }
  }

  bool parallel() const override { return !out_.direct(); }

  void write_at(std::size_t first, std::span<const double> values) override {
    thread_local std::vector<std::byte> encoded;
    encoded.resize(values.size() * type_.size);
    encode(type_, values.data(), values.size(), encoded.data());
    if (out_.direct()) {
      out_.write(encoded.data(), encoded.size());
    } else {
      out_.write_at(data_offset_ + first * type_.size, encoded.data(), encoded.size());
    }
  }

  void finish() override {}

 private:
  output_file& out_;
  dtype type_;
  std::size_t data_offset_;
};

class held_sink : public tensor_sink {
 public:
  held_sink(output_file& out, tensor_info info,
            void (*write_set)(output_file&, std::vector<named_tensor>))
      : out_(out), write_set_(write_set) {
    tensor_.info = std::move(info);
    tensor_.data.resize(tensor_.info.size_in_bytes());
  }

  bool parallel() const override { return true; }

  void write_at(std::size_t first, std::span<const double> values) override {
    const std::size_t item = tensor_.info.type.size;
    encode(tensor_.info.type, values.data(), values.size(),
           reinterpret_cast<std::byte*>(tensor_.data.data() + first * item));
  }

  void finish() override {
    std::vector<named_tensor> tensors;
    tensors.push_back(std::move(tensor_));
    write_set_(out_, std::move(tensors));
  }

 private:
  output_file& out_;
  void (*write_set_)(output_file&, std::vector<named_tensor>);
  named_tensor tensor_;
};

}  // namespace

dtype written_without_bfloat16(dtype type) {
  if (type.kind == scalar_kind::bfloat) return dtype::float32();
  return output_type_for(type);
}

std::unique_ptr<tensor_sink> make_headed_sink(output_file& out, const std::string& header,
                                              dtype type) {
  return std::make_unique<headed_sink>(out, header, type);
}

std::unique_ptr<tensor_sink> make_held_sink(output_file& out, tensor_info info,
                                            void (*write_set)(output_file&,
                                                              std::vector<named_tensor>)) {
  return std::make_unique<held_sink>(out, std::move(info), write_set);
}

}  // namespace bnorm
