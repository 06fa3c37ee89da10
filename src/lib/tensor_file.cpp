// SPDX-License-Identifier: Apache-2.0
#include <bnorm/tensor_file.hpp>
#include <xtensor/xadapt.hpp>

#include "formats/registry.hpp"
#include "public_types.hpp"

namespace bnorm {

class tensor_file::archive {
 public:
  archive(const std::string& path, const codec* named) : path_(path) {
    opened_input input = open_input(path, named);
    format_ = input.format;
    tensors_ = format_->open(std::move(input.file), {});
  }

  const std::string& path() const { return path_; }
  const codec& format() const { return *format_; }
  const tensor_archive& tensors() const { return *tensors_; }

 private:
  std::string path_;
  const codec* format_ = nullptr;
  std::unique_ptr<tensor_archive> tensors_;
};

tensor_file::tensor_file(const std::string& path, const std::string& format)
    : archive_(std::make_unique<archive>(path, lib::format_named(format))) {}

tensor_file::~tensor_file() = default;
tensor_file::tensor_file(tensor_file&& other) noexcept = default;
tensor_file& tensor_file::operator=(tensor_file&& other) noexcept = default;

const std::string& tensor_file::path() const {
  return archive_->path();
}

std::string tensor_file::format() const {
  return std::string(archive_->format().name);
}

std::vector<tensor_entry> tensor_file::tensors() const {
  std::vector<tensor_entry> entries;
  for (const std::string& name : archive_->tensors().names()) {
    const tensor_info info = archive_->tensors().open(name)->info();
    entries.push_back({name, info.shape, name_of(info.type)});
  }
  return entries;
}

template <class T>
array<T> tensor_file::read(const std::string& name) const {
  const std::unique_ptr<tensor_source> source = pick_tensor(archive_->tensors(), name);
  const tensor_info& info = source->info();
  std::vector<double> values(info.element_count());
  source->read_at(0, values);
  // File order is row-major, or column-major for a Fortran-order .npy.
  const auto in_file = xt::adapt<xt::layout_type::dynamic>(
      values, info.shape,
      info.fortran_order ? xt::layout_type::column_major : xt::layout_type::row_major);
  array<T> out = array<T>::from_shape(info.shape);
  std::transform(in_file.begin(), in_file.end(), out.begin(),
                 [](double v) { return static_cast<T>(v); });
  return out;
}

template array<float> tensor_file::read<float>(const std::string&) const;
template array<double> tensor_file::read<double>(const std::string&) const;
template array<half> tensor_file::read<half>(const std::string&) const;

}  // namespace bnorm
