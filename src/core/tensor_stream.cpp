// SPDX-License-Identifier: Apache-2.0
#include "tensor_stream.hpp"

#include <cstring>

#include "error.hpp"
#include "quoted_name.hpp"

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

class values_source : public tensor_source {
 public:
  values_source(tensor_info info, std::shared_ptr<const std::vector<double>> values)
      : info_(std::move(info)), values_(std::move(values)) {}

  const tensor_info& info() const override { return info_; }

  void read_at(std::size_t first, std::span<double> out) const override {
    std::copy_n(values_->begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
  }

 private:
  tensor_info info_;
  std::shared_ptr<const std::vector<double>> values_;
};

class single_archive : public tensor_archive {
 public:
  single_archive(std::string file_name, std::function<std::unique_ptr<tensor_source>()> open_source)
      : file_name_(std::move(file_name)), open_source_(std::move(open_source)) {}

  const std::string& file_name() const override { return file_name_; }
  std::vector<std::string> names() const override { return {std::string()}; }
  bool names_tensors() const override { return false; }
  std::unique_ptr<tensor_source> open(const std::string& name) const override {
    if (!name.empty()) throw data_error(file_name_ + ": no tensor " + quoted_name(name));
    return open_source_();
  }

 private:
  std::string file_name_;
  std::function<std::unique_ptr<tensor_source>()> open_source_;
};

}  // namespace

std::unique_ptr<tensor_archive> single_tensor_archive(
    std::string file_name, std::function<std::unique_ptr<tensor_source>()> open_source) {
  return std::make_unique<single_archive>(std::move(file_name), std::move(open_source));
}

std::unique_ptr<tensor_source> pick_tensor(const tensor_archive& archive,
                                           const std::string& wanted) {
  if (!archive.names_tensors()) {
    if (!wanted.empty()) {
      throw usage_error(archive.file_name() + " holds one unnamed tensor, not " +
                        quoted_name(wanted));
    }
    return archive.open(wanted);
  }
  const std::vector<std::string> names = archive.names();
  if (names.empty()) throw data_error(archive.file_name() + ": holds no tensors");
  if (wanted.empty()) {
    if (names.size() == 1) return archive.open(names.front());
    throw usage_error(fault::tensor_not_chosen,
                      archive.file_name() + " holds " + std::to_string(names.size()) +
                          " tensors (" + list_names(names) + ")",
                      ": pick one");
  }
  if (std::find(names.begin(), names.end(), wanted) == names.end()) {
    throw usage_error(archive.file_name() + " has no tensor " + quoted_name(wanted) + " (it has " +
                      list_names(names) + ")");
  }
  return archive.open(wanted);
}

std::unique_ptr<tensor_source> memory_source(tensor_info info, std::vector<double> values) {
  return memory_source(std::move(info),
                       std::make_shared<const std::vector<double>>(std::move(values)));
}

std::unique_ptr<tensor_source> memory_source(tensor_info info,
                                             std::shared_ptr<const std::vector<double>> values) {
  return std::make_unique<values_source>(std::move(info), std::move(values));
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

}  // namespace bnorm
