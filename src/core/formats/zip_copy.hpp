// A ZIP archive written member by member, in order: new stored members, and members of another
// archive copied as they lie there (stored or deflated, with their CRC-32), so that a file of
// many tensors is updated in bounded memory without decoding what it does not change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "file_io.hpp"
#include "zip_archive.hpp"

namespace bnorm {

/// Writes to `out` as write_zip lays members out (a ZIP64 extra field with both sizes in every
/// local header, ZIP64 central-directory fields and end records only where a value needs
/// them, times fixed at 1980-01-01), to a regular file or a stream.
class zip_copy_writer {
 public:
  explicit zip_copy_writer(output_file& out) : out_(out) {}

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
