// SPDX-License-Identifier: Apache-2.0
#include "torch_checkpoint.hpp"

#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "quoted_name.hpp"

namespace bnorm {
namespace {

constexpr std::string_view data_prefix = "data/";
// Small records (version, byteorder, ...) are read whole; nothing torch writes is longer.
constexpr std::uint64_t max_small_record = 64;

// The element type of each storage torch.save writes, little-endian.
dtype storage_dtype(std::string_view type, bool& known) {
  known = true;
  if (type == "FloatStorage") return dtype::float32();
  if (type == "DoubleStorage") return dtype::float64();
  if (type == "HalfStorage") return dtype::float16();
  if (type == "BFloat16Storage") return dtype::bfloat16();
  if (type == "LongStorage") return {scalar_kind::signed_int, 8, false};
  if (type == "IntStorage") return {scalar_kind::signed_int, 4, false};
  if (type == "ShortStorage") return {scalar_kind::signed_int, 2, false};
  if (type == "CharStorage") return {scalar_kind::signed_int, 1, false};
  if (type == "ByteStorage") return {scalar_kind::unsigned_int, 1, false};
  if (type == "BoolStorage") return {scalar_kind::boolean, 1, false};
  known = false;
  return {};
}

bool holds_tensor(const pickle::value& dict) {
  for (const auto& [key, item] : dict.entries) {
    if (item->kind == pickle::kind::tensor) return true;
  }
  return false;
}

bool is_dict(const pickle::value& v) {
  return v.kind == pickle::kind::dict || v.kind == pickle::kind::ordered_dict;
}

// Every tensor of the tree once, shared values visited once (a tree of shared lists would
// otherwise take exponential time).
void collect_tensors(const pickle::value& v, std::unordered_set<const pickle::value*>& seen,
                     std::vector<const pickle::tensor*>& out) {
  if (!seen.insert(&v).second) return;
  switch (v.kind) {
    case pickle::kind::tensor:
      out.push_back(&v.tensor);
      return;
    case pickle::kind::list:
    case pickle::kind::tuple:
      for (const auto& item : v.items) collect_tensors(*item, seen, out);
      return;
    case pickle::kind::dict:
    case pickle::kind::ordered_dict:
      for (const auto& [key, item] : v.entries) {
        collect_tensors(*key, seen, out);
        collect_tensors(*item, seen, out);
      }
      if (v.state) collect_tensors(*v.state, seen, out);
      return;
    default:
      return;
  }
}

}  // namespace

torch_checkpoint::torch_checkpoint(std::shared_ptr<const byte_source> bytes)
    : zip_(std::move(bytes)) {
  const std::string& file = zip_.bytes()->name();
  const auto fail = [&](const std::string& what) { throw data_error(file + ": " + what); };
  const zip_member* pickle_record = nullptr;
  const zip_member* version = nullptr;
  const zip_member* byteorder = nullptr;
  for (const zip_member& m : zip_.members()) {
    const std::size_t slash = m.name.find('/');
    if (slash == std::string::npos) {
      fail("record " + quoted_name(m.name) +
           " lies under no folder; torch.save puts every record under one");
    }
    const std::string folder = m.name.substr(0, slash);
    const std::string record = m.name.substr(slash + 1);
    if (&m == &zip_.members().front()) {
      folder_ = folder;
    } else if (folder != folder_) {
      fail("records under two folders, " + quoted_name(folder_) + " and " + quoted_name(folder) +
           (record == "data.pkl" && pickle_record ? " (two data.pkl records)" : "") +
           "; torch.save puts every record under one");
    }
    if (record == "constants.pkl" || record.starts_with("code/")) {
      fail(
          "a TorchScript archive (torch.jit.save); bnorm reads what torch.save writes: save "
          "model.state_dict() with torch.save");
    }
    if (record == "data.pkl") {
      pickle_record = &m;
    } else if (record == "version") {
      version = &m;
    } else if (record == "byteorder") {
      byteorder = &m;
    } else if (record.starts_with(data_prefix)) {
      records_by_key_.emplace(record.substr(data_prefix.size()),
                              static_cast<std::size_t>(&m - zip_.members().data()));
    } else if (record != ".data/serialization_id" && record != ".format_version" &&
               record != ".storage_alignment") {
      fail("record " + quoted_name(m.name) + " is not one torch.save writes");
    }
  }
  if (pickle_record == nullptr) {
    fail(zip_.members().empty() ? "an empty ZIP archive, not a torch.save checkpoint"
                                : "no record " + quoted_name(folder_ + "/data.pkl") +
                                      ", which a torch.save checkpoint holds");
  }
  const auto small = [&](const zip_member& m) {
    if (m.uncompressed_size > max_small_record) {
      fail("record " + quoted_name(m.name) + " of " + std::to_string(m.uncompressed_size) +
           " bytes is longer than torch writes it");
    }
    return zip_.extract(m);
  };
  if (version != nullptr) {
    std::string text = small(*version);
    if (text.ends_with('\n')) text.pop_back();
    if (text != "1" && text != "2" && text != "3") {
      fail("record " + quoted_name(version->name) + " says version " + quoted_name(text) +
           "; bnorm reads torch.save's versions 1 to 3");
    }
  }
  if (byteorder != nullptr) {
    const std::string text = small(*byteorder);
    if (text == "big") {
      big_endian_ = true;
    } else if (text != "little") {
      fail("record " + quoted_name(byteorder->name) + " says " + quoted_name(text) +
           ", not \"little\" or \"big\"");
    }
  }
  // Stored, the pickle's tree is bounded by the file's size; inflated, a few KiB could make
  // hundreds of MiB of values.
  if (!pickle_record->stored()) {
    fail("record " + quoted_name(pickle_record->name) +
         " is compressed; torch.save stores it, and bnorm reads it only so");
  }
  if (pickle_record->uncompressed_size > pickle::max_pickle_size) {
    fail("data.pkl: the pickle of " + std::to_string(pickle_record->uncompressed_size) +
         " bytes is larger than " + std::to_string(pickle::max_pickle_size) + " (bnorm's limit)");
  }
  try {
    root_ = pickle::load(zip_.extract(*pickle_record));
  } catch (const data_error& e) {
    const std::string what = e.what();
    if (what.starts_with(file + ": ")) throw;
    fail("data.pkl: " + what);
  }

  // Every storage and every view checked before a byte of a tensor is read.
  std::unordered_set<const pickle::value*> seen;
  std::vector<const pickle::tensor*> tensors;
  collect_tensors(*root_, seen, tensors);
  std::unordered_map<std::string, const pickle::storage*> storages;
  for (const pickle::tensor* t : tensors) {
    const pickle::storage& s = *t->data;
    const auto [found, added] = storages.try_emplace(s.key, &s);
    if (!added &&
        (found->second->storage_type != s.storage_type || found->second->numel != s.numel)) {
      fail("data.pkl: storage " + quoted_name(s.key) + " is named as " +
           found->second->storage_type + " of " + std::to_string(found->second->numel) +
           " and as " + s.storage_type + " of " + std::to_string(s.numel));
    }
    if (added) record(s);
    // The last element a view reaches: offset + sum of (size - 1) * stride, without overflow.
    bool empty = false;
    for (const std::uint64_t n : t->size) empty = empty || n == 0;
    std::uint64_t last = t->offset;
    std::uint64_t count = 1;
    bool overflow = false;
    for (std::size_t d = 0; d < t->size.size(); ++d) {
      std::uint64_t reach = 0;
      if (!empty) {
        overflow = overflow || __builtin_mul_overflow(t->size[d] - 1, t->stride[d], &reach) ||
                   __builtin_add_overflow(last, reach, &last);
      }
      overflow = overflow || __builtin_mul_overflow(count, t->size[d], &count);
    }
    if (overflow || count > std::numeric_limits<std::size_t>::max() / 8) {
      fail("data.pkl: a tensor of storage " + quoted_name(s.key) +
           " has a size and stride whose extent overflows");
    }
    if (!empty && last >= s.numel) {
      fail("data.pkl: a tensor reaches element " + std::to_string(last) + " of storage " +
           quoted_name(s.key) + ", which holds " + std::to_string(s.numel));
    }
  }

  if (root_->kind == pickle::kind::tensor) return;
  if (!is_dict(*root_)) {
    fail("data.pkl holds neither a tensor nor a dict of tensors");
  }
  // A wrapped state_dict wins over tensors of the checkpoint's own beside it (pytorch/examples'
  // ImageNet script saves best_acc1 as a tensor next to 'state_dict').
  tensors_ = root_.get();
  for (const std::string_view wrapper : {"state_dict", "model_state_dict", "model"}) {
    for (const auto& [key, item] : root_->entries) {
      if (key->kind == pickle::kind::text && key->text == wrapper && is_dict(*item) &&
          holds_tensor(*item)) {
        tensors_ = item.get();
        return;
      }
    }
  }
}

const zip_member& torch_checkpoint::record(const pickle::storage& storage) const {
  const std::string& file = zip_.bytes()->name();
  const std::string name = folder_ + "/data/" + storage.key;
  const auto found = records_by_key_.find(storage.key);
  if (found == records_by_key_.end()) {
    throw data_error(file + ": storage " + quoted_name(storage.key) + " has no record " +
                     quoted_name(name));
  }
  const zip_member& m = zip_.members()[found->second];
  if (!m.stored()) {
    throw data_error(file + ": record " + quoted_name(name) +
                     " is compressed; torch.save stores storages, which bnorm reads in place");
  }
  const std::uint64_t item = element_type(storage).size;
  std::uint64_t expected = 0;
  if (__builtin_mul_overflow(storage.numel, item, &expected) || expected != m.uncompressed_size) {
    throw data_error(file + ": record " + quoted_name(name) + " holds " +
                     std::to_string(m.uncompressed_size) + " bytes, not the " +
                     std::to_string(storage.numel) + " x " + std::to_string(item) + " of its " +
                     storage.storage_type);
  }
  return m;
}

dtype torch_checkpoint::element_type(const pickle::storage& storage) const {
  bool known = false;
  dtype type = storage_dtype(storage.storage_type, known);
  if (!known) {
    throw data_error(zip_.bytes()->name() + ": storage type " + storage.storage_type +
                     " is not one bnorm reads");
  }
  if (big_endian_ && type.size > 1) type.big_endian = true;
  return type;
}

}  // namespace bnorm
