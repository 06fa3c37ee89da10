#include "tensor_archive.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

#include "byte_source.hpp"
#include "error.hpp"
#include "npz.hpp"
#include "quoted_name.hpp"
#include "safetensors.hpp"

namespace bnorm {
namespace {

// "a, b, c" for a message, at most ten names.
std::string list_names(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 10;
  std::string text;
  for (std::size_t i = 0; i < std::min(shown, names.size()); ++i) {
    if (i > 0) text += ", ";
    text += quoted_name(names[i]);
  }
  if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

// Types a container cannot hold are written as float32, which holds every bfloat16 exactly.
dtype writable_type(tensor_format format, dtype type) {
  if (format == tensor_format::npz && type.kind == scalar_kind::bfloat) return dtype::float32();
  return {type.kind, type.size, false};
}

class archive_sink : public tensor_sink {
 public:
  archive_sink(output_file& out, tensor_format format, tensor_info info)
      : out_(out), format_(format) {
    tensor_.info = std::move(info);
    tensor_.info.type = writable_type(format, output_type_for(tensor_.info.type));
    // push_back, not = "x": GCC 12 warns falsely about the latter (-Wrestrict, PR 105651).
    if (tensor_.info.name.empty()) tensor_.info.name.push_back('x');
    if (format == tensor_format::npz) check_npz_name(out, tensor_.info.name);
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
    write_archive(out_, format_, std::move(tensors));
  }

 private:
  output_file& out_;
  tensor_format format_;
  named_tensor tensor_;
};

// The header, its refusals (a reserved or non-UTF-8 name) naming the output.
std::string named_header(const output_file& out, std::vector<named_tensor>& tensors) {
  try {
    return format_safetensors_header(tensors);
  } catch (const data_error& e) {
    throw data_error(out.name() + ": " + e.what());
  }
}

}  // namespace

std::unique_ptr<tensor_archive> open_archive(const std::string& path, tensor_format format) {
  auto bytes = byte_source::open(path);
  if (format == tensor_format::npz) return open_npz(std::move(bytes));
  return open_safetensors(std::move(bytes));
}

std::unique_ptr<tensor_source> open_archive_tensor(const tensor_archive& archive,
                                                   const std::string& wanted) {
  const std::vector<std::string> names = archive.names();
  if (wanted.empty()) {
    if (names.size() == 1) return archive.open(names.front());
    if (names.empty()) throw data_error(archive.file_name() + ": holds no tensors");
    throw usage_error(archive.file_name() + " holds " + std::to_string(names.size()) +
                      " tensors (" + list_names(names) + "): pick one with --tensor NAME");
  }
  if (std::find(names.begin(), names.end(), wanted) == names.end()) {
    throw usage_error(archive.file_name() + " has no tensor " + quoted_name(wanted) + " (it has " +
                      list_names(names) + ")");
  }
  return archive.open(wanted);
}

bool names_archive(const std::string& path, tensor_format& format) {
  const auto ends_with = [&](std::string_view suffix) {
    if (path.size() < suffix.size()) return false;
    return std::equal(
        suffix.begin(), suffix.end(), path.end() - static_cast<std::ptrdiff_t>(suffix.size()),
        [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  };
  if (ends_with(".npz")) {
    format = tensor_format::npz;
    return true;
  }
  if (ends_with(".safetensors")) {
    format = tensor_format::safetensors;
    return true;
  }
  return false;
}

named_tensor make_named_tensor(tensor_info info, const std::vector<double>& values) {
  named_tensor tensor;
  tensor.info = std::move(info);
  tensor.data.resize(tensor.info.size_in_bytes());
  if (tensor.info.type.kind == scalar_kind::signed_int && tensor.info.type.size == 8) {
    // num_batches_tracked: PyTorch keeps it as int64.
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto integer = static_cast<std::int64_t>(values[i]);
      std::memcpy(tensor.data.data() + 8 * i, &integer, 8);
    }
    return tensor;
  }
  encode(tensor.info.type, values.data(), values.size(),
         reinterpret_cast<std::byte*>(tensor.data.data()));
  return tensor;
}

void write_archive(output_file& out, tensor_format format, std::vector<named_tensor> tensors) {
  if (format == tensor_format::npz) {
    write_npz(out, tensors);
  } else {
    write_safetensors(out, std::move(tensors));
  }
}

std::unique_ptr<tensor_sink> make_archive_sink(output_file& out, tensor_format format,
                                               tensor_info info) {
  const bool c_order = !info.fortran_order || info.shape.size() < 2;
  if (format == tensor_format::safetensors && c_order) {
    info.type = writable_type(format, output_type_for(info.type));
    if (info.name.empty()) info.name.push_back('x');
    // Streamed as .npy is: the header first, then each range straight to its place.
    std::vector<named_tensor> tensors(1);
    tensors[0].info = std::move(info);
    const std::string header = named_header(out, tensors);
    return make_headed_sink(out, header, tensors[0].info.type);
  }
  if (format == tensor_format::npz && !out.direct()) {
    info.type = writable_type(format, output_type_for(info.type));
    if (info.name.empty()) info.name.push_back('x');
    return make_npz_sink(out, std::move(info));
  }
  return std::make_unique<archive_sink>(out, format, std::move(info));
}

}  // namespace bnorm
