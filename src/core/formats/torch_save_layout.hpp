// SPDX-License-Identifier: Apache-2.0
// The layout of torch.save's archive (torch 1.13: caffe2/serialize/inline_container.cc over
// miniz), shared by the writers of torch_save.cpp and torch_update.cpp: every record stored
// under one folder, its local header with zero CRC and sizes (flag 0x0808: a data descriptor
// follows, the name is UTF-8; 0x0800 and no descriptor for an empty record) and an "FB" extra
// field of 'Z's that starts its data on a 64-byte boundary, then the data and the descriptor;
// at the end the central directory, a ZIP64 end record and its locator, and the end record.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "file_io.hpp"
#include "pickle.hpp"
#include "tensor_info.hpp"
#include "zip_format.hpp"

namespace bnorm::torch_zip {

using namespace zip_format;

inline constexpr std::uint16_t utf8_flag = 0x0800;
inline constexpr std::uint16_t descriptor_flag = 0x0008;  // miniz writes none for an empty record
inline constexpr std::uint16_t zip64_made_by =
    0x031e;                                     // Unix, 3.0: what miniz puts in its ZIP64 end
inline constexpr std::uint64_t alignment = 64;  // torch's kFieldAlignment
inline constexpr std::string_view torch_version_record = "3\n";

inline void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

/// The ZIP64 extra field miniz writes for a record past 4 GiB or at an offset past it; the
/// local header's holds a compressed size of 0, as miniz writes it before the data.
inline std::string zip64_extra(std::uint64_t size, std::uint64_t offset, bool local = false) {
  std::string values;
  if (size >= marker32) {
    put(values, size, 8);
    put(values, local ? 0 : size, 8);
  }
  if (offset >= marker32) put(values, offset, 8);
  if (values.empty()) return values;
  std::string extra;
  put(extra, zip64_extra_id, 2);
  put(extra, values.size(), 2);
  return extra + values;
}

inline std::uint16_t flags_of(std::uint64_t size) {
  return size == 0 ? utf8_flag : utf8_flag | descriptor_flag;
}

// The records' layout: where each one's header, data and descriptor go, and the directory.
class torch_layout {
 public:
  explicit torch_layout(std::string folder) : folder_(std::move(folder)) {}

  const std::string& folder() const { return folder_; }

  /// The local header of the next record, of `size` bytes: its data starts at offset() plus
  /// the header's size, on a 64-byte boundary.
  std::string local_header(const std::string& name, std::uint64_t size) {
    current_ = {folder_ + "/" + name, 0, size, offset_};
    const std::string big = zip64_extra(size, offset_, true);
    const std::uint64_t start = offset_ + local_header_size + current_.name.size() + 4 + big.size();
    const std::uint64_t padding = (alignment - start % alignment) % alignment;
    std::string header;
    put(header, local_signature, 4);
    put(header, 0, 2);  // version needed: miniz writes 0 for stored records
    put(header, flags_of(size), 2);
    put(header, 0, 2);  // stored
    put(header, 0, 4);  // time and date
    put(header, 0, 4);  // CRC-32, in the descriptor
    put(header, 0, 8);  // sizes, in the descriptor
    put(header, current_.name.size(), 2);
    put(header, big.size() + 4 + padding, 2);
    header += current_.name;
    header += big;
    header += "FB";
    put(header, padding, 2);
    header.append(padding, 'Z');
    offset_ += header.size();
    return header;
  }

  /// The data descriptor after the current record's data (none for an empty record).
  std::string descriptor(std::uint32_t crc) {
    current_.crc = crc;
    std::string d;
    if (current_.size == 0) {
      records_.push_back(current_);
      return d;
    }
    put(d, descriptor_signature, 4);
    put(d, crc, 4);
    if (zip64_extra(current_.size, current_.offset).empty()) {
      put(d, current_.size, 4);
      put(d, current_.size, 4);
    } else {
      put(d, current_.size, 8);
      put(d, current_.size, 8);
    }
    offset_ += current_.size + d.size();
    records_.push_back(current_);
    return d;
  }

  std::uint64_t offset() const { return offset_; }

  /// The central directory and the end records.
  std::string directory() const {
    std::string central;
    for (const record& r : records_) {
      const std::string extra = zip64_extra(r.size, r.offset);
      put(central, central_signature, 4);
      put(central, 0, 2);  // made by
      put(central, 0, 2);  // version needed
      put(central, flags_of(r.size), 2);
      put(central, 0, 2);
      put(central, 0, 4);
      put(central, r.crc, 4);
      put(central, std::min<std::uint64_t>(r.size, marker32), 4);
      put(central, std::min<std::uint64_t>(r.size, marker32), 4);
      put(central, r.name.size(), 2);
      put(central, extra.size(), 2);
      put(central, 0, 2);  // comment
      put(central, 0, 2);  // disk
      put(central, 0, 2);  // internal attributes
      put(central, 0, 4);  // external attributes
      put(central, std::min<std::uint64_t>(r.offset, marker32), 4);
      central += r.name;
      central += extra;
    }
    const std::uint64_t count = records_.size();
    std::string end = central;
    const std::uint64_t zip64_end_offset = offset_ + central.size();
    put(end, zip64_end_signature, 4);
    put(end, 44, 8);
    put(end, zip64_made_by, 2);
    put(end, zip64_version, 2);
    put(end, 0, 4);
    put(end, 0, 4);
    put(end, count, 8);
    put(end, count, 8);
    put(end, central.size(), 8);
    put(end, offset_, 8);
    put(end, zip64_locator_signature, 4);
    put(end, 0, 4);
    put(end, zip64_end_offset, 8);
    put(end, 1, 4);
    put(end, end_signature, 4);
    put(end, 0, 4);
    put(end, std::min<std::uint64_t>(count, marker16), 2);
    put(end, std::min<std::uint64_t>(count, marker16), 2);
    put(end, std::min<std::uint64_t>(central.size(), marker32), 4);
    put(end, std::min<std::uint64_t>(offset_, marker32), 4);
    put(end, 0, 2);
    return end;
  }

 private:
  struct record {
    std::string name;
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
  };
  std::string folder_;
  std::uint64_t offset_ = 0;
  record current_;
  std::vector<record> records_;
};

/// The folder torch.save names the records of `out` under.
std::string folder_for(const output_file& out);

/// A tensor of `info`'s type, shape and order, of its own storage keyed `key`.  Throws
/// data_error for a type torch has no storage for.
pickle::value_ptr tensor_value(const output_file& out, const tensor_info& info, std::string key);

}  // namespace bnorm::torch_zip
