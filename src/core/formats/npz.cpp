// SPDX-License-Identifier: Apache-2.0
#include "npz.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "codec.hpp"
#include "error.hpp"
#include "npy.hpp"
#include "npy_header.hpp"
#include "quoted_name.hpp"
#include "raw_source.hpp"
#include "sinks.hpp"
#include "zip_archive.hpp"
#include "zip_writer.hpp"

namespace bnorm {
namespace {

constexpr std::string_view npy_suffix = ".npy";

// NumPy's NpzFile (numpy/lib/npyio.py) looks a key up as a member name first, and only then as
// a member name less ".npy": where members "a.npy" and "a.npy.npy" both exist, np.load's
// "a.npy" is the first member and bnorm's tensor "a.npy" the second.  Finds the first member
// (in the order given) whose tensor name is another member's name, and returns the indices of
// that other member and of it.  The names are sorted and searched: n log n for 65,536 members.
std::optional<std::pair<std::size_t, std::size_t>> member_named_as_tensor(
    const std::vector<std::string_view>& member_names) {
  std::vector<std::pair<std::string_view, std::size_t>> sorted;
  sorted.reserve(member_names.size());
  for (std::size_t i = 0; i < member_names.size(); ++i) sorted.emplace_back(member_names[i], i);
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < member_names.size(); ++i) {
    const std::string_view name = member_names[i];
    if (!name.ends_with(npy_suffix)) continue;
    const std::string_view stem = name.substr(0, name.size() - npy_suffix.size());
    const auto found =
        std::lower_bound(sorted.begin(), sorted.end(), stem,
                         [](const auto& entry, std::string_view key) { return entry.first < key; });
    if (found != sorted.end() && found->first == stem) return std::pair{found->second, i};
  }
  return std::nullopt;
}

class npz_archive : public tensor_archive {
 public:
  // Names are checked as the directory is read, so a wrong archive stops at its first member.
  explicit npz_archive(std::shared_ptr<const byte_source> bytes)
      : zip_(std::move(bytes), [](const std::string& name) {
          return name.ends_with(npy_suffix)
                     ? std::string()
                     : std::string("is not a .npy file (an .npz holds only .npy members)");
        }) {
    std::vector<std::string_view> member_names;
    for (const zip_member& m : zip_.members()) member_names.push_back(m.name);
    if (const auto pair = member_named_as_tensor(member_names)) {
      const std::string& named = zip_.members()[pair->first].name;
      const std::string& holder = zip_.members()[pair->second].name;
      throw data_error(file_name() + ": members " + quoted_name(named) + " and " +
                       quoted_name(holder) + ": the tensor " + quoted_name(named) + " (member " +
                       quoted_name(holder) +
                       ") has the name of the other member, which np.load reads for it");
    }
  }

  const std::string& file_name() const override { return zip_.bytes()->name(); }
  const zip_archive& zip() const { return zip_; }

  std::vector<std::string> names() const override {
    std::vector<std::string> names;
    for (const zip_member& m : zip_.members()) {
      names.push_back(m.name.substr(0, m.name.size() - npy_suffix.size()));
    }
    return names;
  }

  std::unique_ptr<tensor_source> open(const std::string& name) const override {
    const auto& members = zip_.members();
    const auto member = std::find_if(members.begin(), members.end(), [&](const zip_member& m) {
      return m.name == name + std::string(npy_suffix);
    });
    if (member == members.end())
      throw data_error(file_name() + ": no member " + quoted_name(name + ".npy"));
    try {
      if (member->stored()) {
        zip_.verify_stored(*member);
        npy_layout npy =
            read_npy(*zip_.bytes(), member->data_offset, member->uncompressed_size, "member");
        npy.info.name = name;
        return raw_source(zip_.bytes(), member->data_offset + npy.data_offset, std::move(npy.info));
      }
      auto inflated = byte_source::from_memory(file_name(), zip_.extract(*member));
      npy_layout npy = read_npy(*inflated, 0, inflated->size(), "member");
      npy.info.name = name;
      return raw_source(std::move(inflated), npy.data_offset, std::move(npy.info));
    } catch (const data_error& e) {
      const std::string what = e.what();
      if (what.starts_with(file_name() + ": ")) throw;  // the zip layer's, already named
      throw data_error(file_name() + ": member " + quoted_name(member->name) + ": " + what);
    }
  }

 private:
  zip_archive zip_;
};

// One tensor as an .npz streamed like .npy: values encoded and written to their place.
class npz_sink : public tensor_sink {
 public:
  npz_sink(output_file& out, tensor_info info)
      : info_(std::move(info)),
        writer_(out, info_.name + std::string(npy_suffix), format_npy_header(info_),
                info_.size_in_bytes()) {}

  bool parallel() const override { return true; }

  void write_at(std::size_t first, std::span<const double> values) override {
    thread_local std::vector<std::byte> encoded;
    encoded.resize(values.size() * info_.type.size);
    encode(info_.type, values.data(), values.size(), encoded.data());
    writer_.write_at(first * info_.type.size, encoded.data(), encoded.size());
  }

  void finish() override { writer_.finish(); }

 private:
  tensor_info info_;
  zip_member_writer writer_;
};

}  // namespace

std::unique_ptr<tensor_archive> open_npz(std::shared_ptr<const byte_source> bytes) {
  return std::make_unique<npz_archive>(std::move(bytes));
}

void check_npz_name(const output_file& out, const std::string& tensor_name) {
  if (tensor_name.size() > zip_max_name_size - npy_suffix.size()) {
    throw data_error(out.name() + ": tensor name " + quoted_name(tensor_name) +
                     " is too long for an .npz member (a ZIP name holds at most " +
                     std::to_string(zip_max_name_size) + " bytes, \".npy\" included)");
  }
  if (const std::string problem = zip_name_problem(tensor_name + std::string(npy_suffix), true);
      !problem.empty()) {
    throw data_error(out.name() + ": tensor name " + quoted_name(tensor_name) +
                     " cannot name an .npz member: the member name " + problem);
  }
}

void write_npz(output_file& out, std::vector<named_tensor> tensors) {
  for (const named_tensor& t : tensors) check_npz_name(out, t.info.name);
  std::vector<std::string> member_names;
  for (const named_tensor& t : tensors)
    member_names.push_back(t.info.name + std::string(npy_suffix));
  if (const auto pair = member_named_as_tensor(
          std::vector<std::string_view>(member_names.begin(), member_names.end()))) {
    const std::string& named = tensors[pair->first].info.name;
    const std::string& holder = tensors[pair->second].info.name;
    throw data_error(
        out.name() + ": tensor names " + quoted_name(named) + " and " + quoted_name(holder) +
        " make .npz members " + quoted_name(member_names[pair->first]) + " and " +
        quoted_name(member_names[pair->second]) + ", and np.load reads the first for " +
        quoted_name(holder) + "; bnorm does not write them");
  }
  // Each member is its .npy header and the tensor's bytes as two pieces: joining them would
  // copy every tensor once more.
  std::vector<std::string> headers;
  headers.reserve(tensors.size());
  for (const named_tensor& t : tensors) headers.push_back(format_npy_header(t.info));
  std::vector<zip_entry> entries;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    entries.push_back(
        {tensors[i].info.name + std::string(npy_suffix), headers[i], tensors[i].data});
  }
  write_zip(out, entries);
}

namespace {

std::unique_ptr<tensor_archive> open_npz_file(std::unique_ptr<input_file> file,
                                              const read_options& /*options*/) {
  return open_npz(byte_source::from_file(std::move(file)));
}

// To a regular file, the member streams like .npy: its CRC-32, which precedes its data, is
// combined from the ranges' and patched in at the end.  To a stream, where the CRC-32 must be
// written before the data, the tensor is held in memory until it is whole.
std::unique_ptr<tensor_sink> make_npz_sink(output_file& out, tensor_info info) {
  info.type = written_without_bfloat16(info.type);  // NumPy has no bfloat16
  // push_back, not = "x": GCC 12 warns falsely about the latter (-Wrestrict, PR 105651).
  if (info.name.empty()) info.name.push_back('x');
  check_npz_name(out, info.name);
  if (out.direct()) return make_held_sink(out, std::move(info), write_npz);
  return std::make_unique<npz_sink>(out, std::move(info));
}

// The members of the original are copied as they lie, deflated ones deflated; the replaced
// tensors are new stored members in their place, the added ones after them.
void update_npz(std::unique_ptr<input_file> original, output_file& out,
                std::vector<named_tensor> replaced) {
  const npz_archive archive(byte_source::from_file(std::move(original)));
  for (const named_tensor& t : replaced) check_npz_name(out, t.info.name);
  std::vector<std::string> member_names;
  for (const zip_member& m : archive.zip().members()) member_names.push_back(m.name);
  std::vector<bool> in_place(replaced.size(), false);
  std::vector<std::string> headers;
  for (std::size_t i = 0; i < replaced.size(); ++i) {
    headers.push_back(format_npy_header(replaced[i].info));
    const std::string member = replaced[i].info.name + std::string(npy_suffix);
    in_place[i] = std::find(member_names.begin(), member_names.end(), member) != member_names.end();
    if (!in_place[i]) member_names.push_back(member);
  }
  if (const auto pair = member_named_as_tensor(
          std::vector<std::string_view>(member_names.begin(), member_names.end()))) {
    throw data_error(out.name() + ": members " + quoted_name(member_names[pair->first]) + " and " +
                     quoted_name(member_names[pair->second]) +
                     ", and np.load reads the first for " + quoted_name(member_names[pair->first]) +
                     "; bnorm does not write them");
  }
  const auto replacement = [&](const std::string& member) -> std::size_t {
    for (std::size_t i = 0; i < replaced.size(); ++i) {
      if (replaced[i].info.name + std::string(npy_suffix) == member) return i;
    }
    return replaced.size();
  };
  zip_writer writer(out);
  for (const zip_member& m : archive.zip().members()) {
    const std::size_t i = replacement(m.name);
    if (i == replaced.size()) {
      writer.copy(archive.zip(), m);
    } else {
      writer.add(m.name, headers[i], replaced[i].data);
    }
  }
  for (std::size_t i = 0; i < replaced.size(); ++i) {
    if (!in_place[i]) {
      writer.add(replaced[i].info.name + std::string(npy_suffix), headers[i], replaced[i].data);
    }
  }
  writer.finish();
}

// np.savez's archives begin with a member's local header; an archive of no member (np.savez
// with no arrays) with the end of its central directory.
bool recognizes_zip(std::string_view head) {
  return head.starts_with("PK\x03\x04") || head.starts_with("PK\x05\x06");
}

constexpr std::array<std::string_view, 1> npz_extensions{".npz"};

}  // namespace

extern const codec npz_codec{
    .name = "npz",
    .a_file = "an .npz file",
    .manual =
        "**.npz**: stored or deflated members, as **numpy.savez** and "
        "**numpy.savez_compressed** write them; a stored member of a regular file is read where "
        "it lies, a deflated one inflated into memory; written stored, streamed to a regular "
        "file and held in memory for a stream.  Updated in place, the other members are copied "
        "as they lie, deflated ones deflated.",
    .extensions = npz_extensions,
    .recognizes = recognizes_zip,
    .holds_many = true,
    .keeps_dtype = true,
    .holds_documents = false,
    .text = false,
    .written_type = written_without_bfloat16,
    .open = open_npz_file,
    .make_sink = make_npz_sink,
    .write_set = write_npz,
    .update_set = update_npz,
    .fold_model = nullptr,
};

}  // namespace bnorm
