// SPDX-License-Identifier: Apache-2.0
// torch.save's archive as torch 1.13 writes it (caffe2/serialize/inline_container.cc over
// miniz): every record stored under one folder, its local header with zero CRC and sizes
// (flag 0x0808: a data descriptor follows, the name is UTF-8) and an "FB" extra field of 'Z's
// that starts its data on a 64-byte boundary, then the data and a data descriptor; at the end
// the central directory, a ZIP64 end record and its locator, and the end record.
#include "torch_save.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "crc32.hpp"
#include "error.hpp"
#include "pickle.hpp"
#include "quoted_name.hpp"
#include "sinks.hpp"
#include "torch_save_layout.hpp"
#include "zip_archive.hpp"
#include "zip_writer.hpp"

namespace bnorm {
namespace torch_zip {
// The folder torch.save names after the file: its base name less the last extension
// (PyTorchStreamWriter's basename(), which also splits at '\\'); "archive" for a buffer, and
// here for standard output and for a name that would give no folder a ZIP reader takes.
std::string folder_for(const output_file& out) {
  const std::string& path = out.name();
  if (out.direct() && path == "<stdout>") return "archive";
  const std::size_t slash = path.find_last_of("/\\");
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (const std::size_t dot = base.find_last_of('.'); dot != std::string::npos) base.resize(dot);
  if (base.empty() || base == "." || base == ".." ||
      !zip_name_problem(base + "/data.pkl", true).empty()) {
    return "archive";
  }
  return base;
}

namespace {

std::string storage_type_of(const output_file& out, const tensor_info& info) {
  const dtype t = info.type;
  switch (t.kind) {
    case scalar_kind::floating:
      if (t.size == 2) return "HalfStorage";
      if (t.size == 4) return "FloatStorage";
      if (t.size == 8) return "DoubleStorage";
      break;
    case scalar_kind::bfloat:
      return "BFloat16Storage";
    case scalar_kind::signed_int:
      if (t.size == 1) return "CharStorage";
      if (t.size == 2) return "ShortStorage";
      if (t.size == 4) return "IntStorage";
      if (t.size == 8) return "LongStorage";
      break;
    case scalar_kind::unsigned_int:
      if (t.size == 1) return "ByteStorage";
      break;
    case scalar_kind::boolean:
      return "BoolStorage";
  }
  throw data_error(out.name() + ": tensor " + quoted_name(info.name) +
                   ": torch has no storage for " + name_of(t));
}

// The strides torch gives a contiguous tensor of this shape and order: a dimension of size 0
// counts as 1, as in torch.empty(2, 0, 3).stride() == (3, 3, 1).
std::vector<std::uint64_t> strides_of(const tensor_info& info) {
  const std::size_t rank = info.shape.size();
  std::vector<std::uint64_t> stride(rank, 1);
  if (info.fortran_order) {
    for (std::size_t i = 1; i < rank; ++i)
      stride[i] = stride[i - 1] * std::max<std::uint64_t>(info.shape[i - 1], 1);
  } else {
    for (std::size_t i = rank; i-- > 1;)
      stride[i - 1] = stride[i] * std::max<std::uint64_t>(info.shape[i], 1);
  }
  return stride;
}

pickle::value_ptr make_value(pickle::kind kind) {
  auto v = std::make_shared<pickle::value>();
  v->kind = kind;
  return v;
}

pickle::value_ptr text_value(std::string text) {
  auto v = make_value(pickle::kind::text);
  v->text = std::move(text);
  return v;
}

// A tensor of its own storage, keyed `key`.
}  // namespace

pickle::value_ptr tensor_value(const output_file& out, const tensor_info& info, std::string key) {
  auto data = std::make_shared<pickle::storage>();
  data->storage_type = storage_type_of(out, info);
  data->key = std::move(key);
  data->location = "cpu";
  data->numel = info.element_count();
  auto v = make_value(pickle::kind::tensor);
  v->tensor.data = std::move(data);
  v->tensor.size.assign(info.shape.begin(), info.shape.end());
  v->tensor.stride = strides_of(info);
  return v;
}

}  // namespace torch_zip

namespace {

using namespace torch_zip;

// torch writes the storages' records in the order of their keys as strings: "10" before "2".
std::vector<std::size_t> record_order(std::size_t count) {
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [](std::size_t a, std::size_t b) { return std::to_string(a) < std::to_string(b); });
  return order;
}

void check_names(const output_file& out, const std::string& folder,
                 const std::vector<named_tensor>& tensors) {
  if (folder.size() + std::to_string(tensors.size()).size() + 6 > zip_max_name_size) {
    throw data_error(out.name() + ": the folder " + quoted_name(folder) +
                     " is too long for a ZIP record name");
  }
  for (const named_tensor& t : tensors) storage_type_of(out, t.info);
}

// Writes the archive of `root`, whose storages are the tensors' in order (key i for tensor i),
// in order to `out`.
void write_archive(output_file& out, const std::string& folder, const pickle::value& root,
                   const std::vector<named_tensor>& tensors) {
  torch_layout layout(folder);
  const std::string pkl = pickle::dump(root);
  auto write_record = [&](const std::string& name, std::string_view data) {
    out.write(layout.local_header(name, data.size()));
    out.write(data);
    out.write(layout.descriptor(crc32_of(0, data.data(), data.size())));
  };
  write_record("data.pkl", pkl);
  for (std::size_t i : record_order(tensors.size()))
    write_record("data/" + std::to_string(i), tensors[i].data);
  write_record("version", torch_version_record);
  out.write(layout.directory());
}

pickle::value_ptr ordered_dict_of(const output_file& out,
                                  const std::vector<named_tensor>& tensors) {
  auto root = make_value(pickle::kind::ordered_dict);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    root->entries.emplace_back(text_value(tensors[i].info.name),
                               tensor_value(out, tensors[i].info, std::to_string(i)));
  }
  return root;
}

// torch.save(t), or torch.save({name: t}) for a named tensor: the root of one tensor.
pickle::value_ptr root_of_one(const output_file& out, const tensor_info& info) {
  auto tensor = tensor_value(out, info, "0");
  if (info.name.empty()) return tensor;
  auto root = make_value(pickle::kind::dict);
  root->entries.emplace_back(text_value(info.name), std::move(tensor));
  return root;
}

void write_one(output_file& out, std::vector<named_tensor> tensors) {
  if (tensors.size() != 1) throw std::logic_error("write_one: not one tensor");
  const std::string folder = folder_for(out);
  check_names(out, folder, tensors);
  write_archive(out, folder, *root_of_one(out, tensors[0].info), tensors);
}

// One tensor streamed to its place in a regular file, from several threads: the record's
// header and the archive's pickle go first, the descriptor's CRC-32 is combined from the
// ranges' at the end (no CRC precedes the data, so nothing is patched).
class torch_sink : public tensor_sink {
 public:
  torch_sink(output_file& out, tensor_info info)
      : out_(out), info_(std::move(info)), layout_(folder_for(out)) {
    check_names(out_, layout_.folder(), {});
    storage_type_of(out_, info_);
    std::string head;
    const std::string pkl = pickle::dump(*root_of_one(out_, info_));
    head += layout_.local_header("data.pkl", pkl.size());
    head += pkl;
    head += layout_.descriptor(crc32_of(0, pkl.data(), pkl.size()));
    head += layout_.local_header("data/0", info_.size_in_bytes());
    data_offset_ = layout_.offset();
    out_.write_at(0, head.data(), head.size());
  }

  bool parallel() const override { return true; }

  void write_at(std::size_t first, std::span<const double> values) override {
    thread_local std::vector<std::byte> encoded;
    encoded.resize(values.size() * info_.type.size);
    encode(info_.type, values.data(), values.size(), encoded.data());
    out_.write_at(static_cast<std::size_t>(data_offset_ + first * info_.type.size), encoded.data(),
                  encoded.size());
    crcs_.add(first * info_.type.size, encoded.data(), encoded.size());
  }

  void finish() override {
    const std::uint32_t crc = crcs_.combined(0, info_.size_in_bytes(), "torch_sink");
    std::string tail = layout_.descriptor(crc);
    tail += layout_.local_header("version", torch_version_record.size());
    tail += torch_version_record;
    tail +=
        layout_.descriptor(crc32_of(0, torch_version_record.data(), torch_version_record.size()));
    tail += layout_.directory();
    const std::uint64_t at = data_offset_ + info_.size_in_bytes();
    out_.write_at(static_cast<std::size_t>(at), tail.data(), tail.size());
  }

 private:
  output_file& out_;
  tensor_info info_;
  torch_layout layout_;
  std::uint64_t data_offset_ = 0;
  crc32_ranges crcs_;
};

}  // namespace

std::unique_ptr<tensor_sink> make_torch_sink(output_file& out, tensor_info info) {
  info.type = output_type_for(info.type);
  storage_type_of(out, info);
  if (out.direct()) return make_held_sink(out, std::move(info), write_one);
  return std::make_unique<torch_sink>(out, std::move(info));
}

void write_torch_set(output_file& out, std::vector<named_tensor> tensors) {
  const std::string folder = folder_for(out);
  check_names(out, folder, tensors);
  write_archive(out, folder, *ordered_dict_of(out, tensors), tensors);
}

}  // namespace bnorm
