// SPDX-License-Identifier: Apache-2.0
// PyTorch checkpoints (torch.save, torch >= 1.6) read without Python and without running their
// pickle: torch_checkpoint validates the archive, this file turns its tensors into sources.
#include "torch.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "codec.hpp"
#include "error.hpp"
#include "quoted_name.hpp"
#include "raw_source.hpp"
#include "torch_checkpoint.hpp"
#include "torch_save.hpp"

namespace bnorm {
namespace {

// The start of the pre-1.6 format: PROTO 2, then LONG1 of torch's magic number
// 0x1950a86a20f9469cfc6c, little-endian.
constexpr std::string_view legacy_magic{"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19",
                                        14};

// torch.save's records lie under a folder ("<folder>/data.pkl" first), and so do those of a
// TorchScript archive, which is then refused by name (as is a data.pkl under no folder); an
// .npz's members end in ".npy".  The head (sniff_size) shows the first local header and its
// name whole.
bool recognizes_torch(std::string_view head) {
  if (head.starts_with(legacy_magic)) return true;
  if (!head.starts_with("PK\x03\x04") || head.size() < 30) return false;
  const std::size_t name_size = static_cast<unsigned char>(head[26]) |
                                static_cast<std::size_t>(static_cast<unsigned char>(head[27])) << 8;
  if (head.size() - 30 < name_size) return false;
  const std::string_view name = head.substr(30, name_size);
  const std::size_t slash = name.find('/');
  return !name.ends_with(".npy") &&
         ((slash != std::string_view::npos && slash > 0) || name == "data.pkl");
}

// Python's pickle carries a lone surrogate in a str (U+D800 to U+DFFF, 0xED 0xA0.. in the
// bytes it writes); UTF-8 does not, so no output (JSON, a ZIP member, a safetensors header)
// could name such a tensor.
bool holds_surrogate(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xed &&
        static_cast<unsigned char>(text[i + 1]) >= 0xa0) {
      return true;
    }
  }
  return false;
}

bool c_contiguous(const pickle::tensor& t) {
  std::uint64_t expected = 1;
  for (std::size_t d = t.size.size(); d-- > 0;) {
    if (t.size[d] != 1 && t.stride[d] != expected) return false;
    expected *= t.size[d];
  }
  return true;
}

bool f_contiguous(const pickle::tensor& t) {
  std::uint64_t expected = 1;
  for (std::size_t d = 0; d < t.size.size(); ++d) {
    if (t.size[d] != 1 && t.stride[d] != expected) return false;
    expected *= t.size[d];
  }
  return true;
}

// Reads a byte-swapped or native integer element at `at` as int64.
std::optional<std::int64_t> integer_at(const byte_source& bytes, std::uint64_t at, dtype type) {
  if (type.kind != scalar_kind::signed_int && type.kind != scalar_kind::unsigned_int) {
    return std::nullopt;
  }
  unsigned char raw[8];
  bytes.read_exact(static_cast<std::size_t>(at), raw, type.size);
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < type.size; ++i) {
    const std::size_t from = type.big_endian ? i : type.size - 1 - i;
    bits = bits << 8 | raw[from];
  }
  if (type.kind == scalar_kind::unsigned_int) return static_cast<std::int64_t>(bits);
  const unsigned shift = 64 - 8 * unsigned{type.size};
  return static_cast<std::int64_t>(bits << shift) >> shift;
}

// A view that is neither C- nor F-contiguous (an expand's zero strides, a slice with a step,
// a transpose of three dimensions): each element found through the strides, in C order of its
// size, a row of the last dimension read at once when its span is small.
class strided_source : public tensor_source {
 public:
  strided_source(std::shared_ptr<const byte_source> bytes, std::uint64_t record_offset,
                 const pickle::tensor& view, tensor_info info)
      : bytes_(std::move(bytes)),
        record_offset_(record_offset),
        view_(view),
        info_(std::move(info)) {}

  const tensor_info& info() const override { return info_; }

  void read_at(std::size_t first, std::span<double> out) const override {
    const std::size_t rank = view_.size.size();
    if (rank == 0) {
      read_elements(view_.offset, 0, 1, out.data());
      return;
    }
    // The multi-index of `first`, then row by row of the last dimension.
    std::vector<std::uint64_t> index(rank);
    std::uint64_t rest = first;
    for (std::size_t d = rank; d-- > 0;) {
      index[d] = rest % view_.size[d];
      rest /= view_.size[d];
    }
    std::size_t done = 0;
    const std::uint64_t last_size = view_.size[rank - 1];
    const std::uint64_t last_stride = view_.stride[rank - 1];
    while (done < out.size()) {
      std::uint64_t element = view_.offset;
      for (std::size_t d = 0; d < rank; ++d) element += index[d] * view_.stride[d];
      const std::size_t run = static_cast<std::size_t>(
          std::min<std::uint64_t>(last_size - index[rank - 1], out.size() - done));
      read_elements(element, last_stride, run, out.data() + done);
      done += run;
      index[rank - 1] += run;
      for (std::size_t d = rank - 1; d > 0 && index[d] == view_.size[d]; --d) {
        index[d] = 0;
        ++index[d - 1];
      }
    }
  }

  std::optional<std::int64_t> read_int64_at(std::size_t position) const override {
    return integer_at(*bytes_, record_offset_ + element_of(position) * info_.type.size, info_.type);
  }

 private:
  std::uint64_t element_of(std::size_t position) const {
    std::uint64_t element = view_.offset;
    std::uint64_t rest = position;
    for (std::size_t d = view_.size.size(); d-- > 0;) {
      element += (rest % view_.size[d]) * view_.stride[d];
      rest /= view_.size[d];
    }
    return element;
  }

  // `count` elements `stride` apart from storage element `element`.
  void read_elements(std::uint64_t element, std::uint64_t stride, std::size_t count,
                     double* out) const {
    const std::size_t item = info_.type.size;
    thread_local std::vector<std::byte> raw;
    thread_local std::vector<std::byte> packed;
    constexpr std::uint64_t max_span = std::uint64_t{1} << 16;  // elements read at once
    const std::uint64_t span = count == 0 ? 0 : (count - 1) * stride + 1;
    packed.resize(count * item);
    if (span <= max_span) {
      raw.resize(static_cast<std::size_t>(span) * item);
      bytes_->read_exact(static_cast<std::size_t>(record_offset_ + element * item), raw.data(),
                         raw.size());
      for (std::size_t i = 0; i < count; ++i) {
        std::copy_n(raw.data() + i * stride * item, item, packed.data() + i * item);
      }
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        bytes_->read_exact(static_cast<std::size_t>(record_offset_ + (element + i * stride) * item),
                           packed.data() + i * item, item);
      }
    }
    decode(info_.type, packed.data(), count, out);
  }

  std::shared_ptr<const byte_source> bytes_;
  std::uint64_t record_offset_;
  pickle::tensor view_;
  tensor_info info_;
};

class torch_archive : public tensor_archive {
 public:
  explicit torch_archive(std::shared_ptr<const byte_source> bytes) : checkpoint_(std::move(bytes)) {
    if (const pickle::value* dict = checkpoint_.tensors()) {
      for (const auto& [key, item] : dict->entries) {
        if (key->kind == pickle::kind::text && item->kind == pickle::kind::tensor) {
          if (holds_surrogate(key->text)) {
            throw data_error(file_name() + ": the tensor name " + quoted_name(key->text) +
                             " holds a lone surrogate (U+D800 to U+DFFF), which UTF-8 cannot");
          }
          tensors_.emplace_back(key->text, &item->tensor);
        }
      }
    } else {
      tensors_.emplace_back("", &checkpoint_.root()->tensor);
    }
    // Looked up by name: a listing opens every tensor of a model of 100,000.
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].first, i);
  }

  const std::string& file_name() const override { return checkpoint_.zip().bytes()->name(); }

  std::vector<std::string> names() const override {
    std::vector<std::string> names;
    for (const auto& [name, t] : tensors_) names.push_back(name);
    return names;
  }

  bool names_tensors() const override { return checkpoint_.tensors() != nullptr; }

  std::unique_ptr<tensor_source> open(const std::string& name) const override {
    const auto found = index_.find(name);
    if (found == index_.end()) {
      throw data_error(file_name() + ": no tensor " + quoted_name(name));
    }
    const pickle::tensor& t = *tensors_[found->second].second;
    const zip_member& record = checkpoint_.record(*t.data);
    verify_once(record);
    tensor_info info;
    info.type = checkpoint_.element_type(*t.data);
    info.name = name;
    for (const std::uint64_t n : t.size) info.shape.push_back(static_cast<std::size_t>(n));
    const auto& bytes = checkpoint_.zip().bytes();
    if (info.element_count() == 0) {
      // No element is read, so an offset past the record (which torch allows) goes unused.
      return raw_source(bytes, static_cast<std::size_t>(record.data_offset), std::move(info));
    }
    if (c_contiguous(t) || f_contiguous(t)) {
      info.fortran_order = !c_contiguous(t);
      return raw_source(bytes,
                        static_cast<std::size_t>(record.data_offset + t.offset * info.type.size),
                        std::move(info));
    }
    return std::make_unique<strided_source>(bytes, record.data_offset, t, std::move(info));
  }

 private:
  // A record's CRC-32 is checked when a tensor of it is first opened, not when the file is:
  // the records of the tensors never read are never read.
  void verify_once(const zip_member& record) const {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (verified_.count(&record) != 0) return;
    }
    checkpoint_.zip().verify_stored(record);
    const std::lock_guard<std::mutex> lock(mutex_);
    verified_.insert(&record);
  }

  torch_checkpoint checkpoint_;
  std::vector<std::pair<std::string, const pickle::tensor*>> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  mutable std::mutex mutex_;
  mutable std::unordered_set<const zip_member*> verified_;
};

std::unique_ptr<tensor_archive> open_torch_file(std::unique_ptr<input_file> file,
                                                const read_options& /*options*/) {
  return open_torch(byte_source::from_file(std::move(file)));
}

// Every type torch holds, bfloat16 included.
dtype torch_written_type(dtype type) {
  return output_type_for(type);
}

constexpr std::array<std::string_view, 3> torch_extensions{".pt", ".pth", ".ckpt"};

}  // namespace

std::unique_ptr<tensor_archive> open_torch(std::shared_ptr<const byte_source> bytes) {
  if (bytes->size() >= legacy_magic.size() &&
      bytes->read_string(0, legacy_magic.size()) == legacy_magic) {
    throw data_error(bytes->name() +
                     ": a checkpoint in torch's legacy format (torch.save before 1.6); bnorm "
                     "reads the zip format: load it with torch and save it again with torch "
                     ">= 1.6");
  }
  return std::make_unique<torch_archive>(std::move(bytes));
}

extern const codec torch_codec{
    .name = "pt",
    .a_file = "a .pt file",
    .manual =
        "**.pt**, **.pth**, **.ckpt**: what **torch.save** writes (torch 1.6 and later), a "
        "state_dict or a checkpoint around one (**state_dict**, **model_state_dict**, "
        "**model**), or one tensor; its pickle is interpreted, never run: only containers, "
        "numbers, strings, **collections.OrderedDict** and torch's tensors and typed storages "
        "are accepted, anything else is refused by name; storages are read in place.",
    .extensions = torch_extensions,
    .recognizes = recognizes_torch,
    .holds_many = true,
    .keeps_dtype = true,
    .holds_documents = false,
    .text = false,
    .written_type = torch_written_type,
    .open = open_torch_file,
    .make_sink = make_torch_sink,
    .write_set = write_torch_set,
    .update_set = update_torch_set,
    .fold_model = nullptr,
};

}  // namespace bnorm
