// SPDX-License-Identifier: Apache-2.0
// update_torch_set: a torch.save archive rewritten with some named tensors replaced or added.
// The pickle is written again from the tree the reader built, so every other value (optimizer
// state, epoch, _metadata...) keeps its place and type; every storage still referenced keeps
// its key and its record's bytes, copied in chunks; new tensors get storages of fresh keys.
#include <algorithm>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>

#include "crc32.hpp"
#include "error.hpp"
#include "pickle.hpp"
#include "quoted_name.hpp"
#include "torch_checkpoint.hpp"
#include "torch_save.hpp"
#include "torch_save_layout.hpp"

namespace bnorm {
namespace {

constexpr std::size_t copy_chunk = std::size_t{1} << 20;

void collect_storages(const pickle::value& v, std::unordered_set<const pickle::value*>& seen,
                      std::vector<std::shared_ptr<const pickle::storage>>& storages,
                      std::unordered_set<const pickle::storage*>& known) {
  if (!seen.insert(&v).second) return;
  if (v.kind == pickle::kind::tensor && v.tensor.data && known.insert(v.tensor.data.get()).second) {
    storages.push_back(v.tensor.data);
  }
  for (const pickle::value_ptr& item : v.items)
    if (item) collect_storages(*item, seen, storages, known);
  for (const auto& [key, val] : v.entries) {
    if (key) collect_storages(*key, seen, storages, known);
    if (val) collect_storages(*val, seen, storages, known);
  }
  if (v.state) collect_storages(*v.state, seen, storages, known);
}

// Copies a record's bytes to `out` in chunks, checking them against its CRC-32.
void copy_record(const zip_archive& zip, const zip_member& member, output_file& out) {
  if (!member.stored()) {
    out.write(zip.extract(member));
    return;
  }
  std::string chunk;
  std::uint32_t crc = 0;
  for (std::uint64_t done = 0; done < member.compressed_size;) {
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(copy_chunk, member.compressed_size - done));
    chunk.resize(want);
    zip.bytes()->read_exact(static_cast<std::size_t>(member.data_offset + done), chunk.data(),
                            want);
    crc = crc32_of(crc, chunk.data(), want);
    out.write(chunk);
    done += want;
  }
  if (crc != member.crc32) {
    throw data_error(zip.bytes()->name() + ": record " + quoted_name(member.name) +
                     ": CRC-32 mismatch (the data is corrupt)");
  }
}

// A key no storage of `used` has: the smallest number from `next` on.
std::string fresh_key(const std::set<std::string>& used, std::size_t& next) {
  while (used.count(std::to_string(next)) != 0) ++next;
  return std::to_string(next++);
}

}  // namespace

void update_torch_set(std::unique_ptr<input_file> original, output_file& out,
                      std::vector<named_tensor> replaced) {
  const torch_checkpoint checkpoint(byte_source::from_file(std::move(original)));
  const std::string& file = checkpoint.zip().bytes()->name();
  if (checkpoint.tensors() == nullptr) {
    throw data_error(file + ": holds one tensor, not a dict of named tensors to update");
  }
  for (const zip_member& m : checkpoint.zip().members()) {
    if (m.name == checkpoint.folder() + "/byteorder" && checkpoint.zip().extract(m) != "little") {
      throw data_error(file +
                       ": its storages are big-endian; bnorm updates little-endian ones only");
    }
  }
  // The tree is the checkpoint's own, built for this call: it is changed in place.
  auto& tensors = const_cast<pickle::value&>(*checkpoint.tensors());

  // New tensors first get storages without keys; once every replacement is made, they take
  // the smallest numbers no kept storage has, in order: the keys of the storages they replace,
  // as torch.save of the updated checkpoint would number them.
  std::vector<std::pair<std::shared_ptr<pickle::storage>, const named_tensor*>> added;
  for (const named_tensor& t : replaced) {
    pickle::value_ptr value = torch_zip::tensor_value(out, t.info, "");
    added.emplace_back(std::const_pointer_cast<pickle::storage>(value->tensor.data), &t);
    auto entry = std::find_if(tensors.entries.begin(), tensors.entries.end(), [&](const auto& e) {
      return e.first && e.first->kind == pickle::kind::text && e.first->text == t.info.name;
    });
    if (entry == tensors.entries.end()) {
      auto key = std::make_shared<pickle::value>();
      key->kind = pickle::kind::text;
      key->text = t.info.name;
      tensors.entries.emplace_back(std::move(key), std::move(value));
      continue;
    }
    if (!entry->second || entry->second->kind != pickle::kind::tensor) {
      throw data_error(file + ": " + quoted_name(t.info.name) +
                       " is not a tensor, and bnorm does not replace it with one");
    }
    // A parameter stays one, with its requires_grad.
    value->tensor.parameter = entry->second->tensor.parameter;
    value->tensor.requires_grad = entry->second->tensor.requires_grad;
    // And stays on its device: torch.load puts a storage saved from a GPU back on it.
    if (entry->second->tensor.data)
      added.back().first->location = entry->second->tensor.data->location;
    entry->second = std::move(value);
  }
  {
    std::unordered_set<const pickle::value*> seen;
    std::vector<std::shared_ptr<const pickle::storage>> storages;
    std::unordered_set<const pickle::storage*> known;
    collect_storages(*checkpoint.root(), seen, storages, known);
    std::set<std::string> used_keys;
    for (const auto& s : storages) used_keys.insert(s->key);
    for (const auto& a : added) used_keys.erase(a.first->key);  // "", not yet given
    std::size_t next_key = 0;
    for (const auto& a : added) a.first->key = fresh_key(used_keys, next_key);
  }

  // Every storage the new tree references: the kept ones' records, checked, and the new ones.
  std::unordered_set<const pickle::value*> seen;
  std::vector<std::shared_ptr<const pickle::storage>> storages;
  std::unordered_set<const pickle::storage*> known;
  collect_storages(*checkpoint.root(), seen, storages, known);
  struct storage_record {
    std::string key;
    const zip_member* kept = nullptr;
    const named_tensor* fresh = nullptr;
  };
  std::vector<storage_record> records;
  std::set<std::string> recorded;
  for (const auto& s : storages) {
    if (!recorded.insert(s->key).second) continue;  // one record per key
    const auto fresh = std::find_if(added.begin(), added.end(),
                                    [&](const auto& a) { return a.first.get() == s.get(); });
    if (fresh != added.end()) {
      records.push_back({s->key, nullptr, fresh->second});
    } else {
      records.push_back({s->key, &checkpoint.record(*s), nullptr});
    }
  }
  std::sort(records.begin(), records.end(),
            [](const storage_record& a, const storage_record& b) { return a.key < b.key; });
  const std::string pkl = pickle::dump(*checkpoint.root());

  // The other records (version, byteorder, .format_version...) keep their order around the
  // storages' place: those before the first storage record stay before it.
  const std::string& folder = checkpoint.folder();
  const std::string data_prefix = folder + "/data/";
  const auto& members = checkpoint.zip().members();
  std::size_t split = members.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i].name.starts_with(data_prefix) || members[i].name == folder + "/version") {
      split = i;
      break;
    }
  }
  torch_zip::torch_layout layout(folder);
  const auto write_copy = [&](const zip_member& m, const std::string& name) {
    out.write(layout.local_header(name, m.uncompressed_size));
    copy_record(checkpoint.zip(), m, out);
    out.write(layout.descriptor(m.crc32));
  };
  const auto write_data = [&](const std::string& name, std::string_view data) {
    out.write(layout.local_header(name, data.size()));
    out.write(data);
    out.write(layout.descriptor(crc32_of(data)));
  };
  write_data("data.pkl", pkl);
  const auto other = [&](const zip_member& m) {
    return m.name != folder + "/data.pkl" && !m.name.starts_with(data_prefix);
  };
  for (std::size_t i = 0; i < split; ++i)
    if (other(members[i])) write_copy(members[i], members[i].name.substr(folder.size() + 1));
  for (const storage_record& r : records) {
    if (r.kept != nullptr) {
      write_copy(*r.kept, "data/" + r.key);
    } else {
      write_data("data/" + r.key, r.fresh->data);
    }
  }
  for (std::size_t i = split; i < members.size(); ++i)
    if (other(members[i])) write_copy(members[i], members[i].name.substr(folder.size() + 1));
  out.write(layout.directory());
}

}  // namespace bnorm
