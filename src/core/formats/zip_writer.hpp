// SPDX-License-Identifier: Apache-2.0
// ZIP archives written as Python's zipfile writes NumPy's np.savez: stored members with a ZIP64
// extra field in every local header, ZIP64 central-directory fields and end records only where
// a value needs them, times fixed at 1980-01-01 so that equal tensors give equal files.  Whole
// archives (write_zip), one member streamed in place (zip_member_writer), and archives built
// member by member with other archives' members copied as they lie (zip_writer), which is how
// a file of many tensors is updated in bounded memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crc32.hpp"
#include "file_io.hpp"
#include "zip_archive.hpp"

namespace bnorm {

/// A member to write: its name and its content, in two pieces written one after the other
/// (an .npy header and the tensor's bytes, which are then not copied to be joined).
struct zip_entry {
  std::string name;
  std::string_view header;
  std::string_view content;
};

/// The longest member name a ZIP header holds (a 16-bit length).
inline constexpr std::size_t zip_max_name_size = 0xffff;

/// Writes a ZIP archive of stored members to `out` as Python's zipfile writes NumPy's
/// np.savez: a ZIP64 extra field with both sizes in every local header (force_zip64), ZIP64
/// central-directory fields and end records only where a value needs them; times are fixed
/// (1980-01-01) so that equal tensors give equal files.  Throws data_error, before writing
/// anything, for a name longer than zip_max_name_size or refused by zip_name_problem; io_error.
void write_zip(output_file& out, const std::vector<zip_entry>& entries);

/// One stored member written in place to a regular file (not direct()), the archive's only
/// member, laid out as write_zip lays it out: the local header and `header` (the .npy header)
/// first, then the data's ranges written to their place in any order, from several threads
/// at once, each range's CRC-32 kept; finish() combines them in file order (crc32_combine),
/// patches the local header's CRC-32 and writes the central directory and end records.  The
/// data is never held in memory.  Throws data_error from the constructor for a name longer
/// than zip_max_name_size or refused by zip_name_problem; io_error.
class zip_member_writer {
 public:
  zip_member_writer(output_file& out, std::string name, std::string header,
                    std::uint64_t data_size);

  /// Writes bytes [first, first + size) of the data (after the header).
  void write_at(std::uint64_t first, const void* data, std::size_t size);

  /// Called once, after every byte of the data has been written exactly once.
  void finish();

 private:
  output_file& out_;
  std::string name_;
  std::string header_;
  std::uint64_t data_size_;
  std::uint64_t data_offset_ = 0;
  crc32_ranges crcs_;
};

/// Writes to `out` as write_zip lays members out (a ZIP64 extra field with both sizes in every
/// local header, ZIP64 central-directory fields and end records only where a value needs
/// them, times fixed at 1980-01-01), to a regular file or a stream.
class zip_writer {
 public:
  explicit zip_writer(output_file& out) : out_(out) {}

  /// A new stored member: `header` then `content`.  Throws data_error, before writing, for a
  /// name write_zip refuses; io_error.
  void add(const std::string& name, std::string_view header, std::string_view content);

  /// The member `member` of `from`, its data copied byte for byte in pieces of a MiB, under
  /// its own name and method.  A stored member's CRC-32 is checked as it is copied (data_error
  /// when it is corrupt); a deflated one is copied without being inflated.  Throws io_error.
  void copy(const zip_archive& from, const zip_member& member);

  /// Writes the central directory and the end records.  Throws io_error.
  void finish();

 private:
  struct written {
    std::string name;
    std::uint16_t method;
    std::uint32_t crc;
    std::uint64_t compressed_size;
    std::uint64_t uncompressed_size;
    std::uint64_t offset;  // of its local header
  };
  void write_local_header(const written& member);

  output_file& out_;
  std::vector<written> members_;
  std::uint64_t offset_ = 0;  // where the next member starts
};

}  // namespace bnorm
