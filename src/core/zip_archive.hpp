// ZIP archives as NumPy's .npz uses them (PKWARE APPNOTE 6.3): members stored or deflated, with
// ZIP64 sizes and offsets.  The reader trusts nothing: every size and offset is checked against
// the file and against the other copy of it before anything is read or allocated from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.hpp"
#include "file_io.hpp"

namespace bnorm {

/// One member, as the central directory and its local header (checked to agree) describe it.
struct zip_member {
  std::string name;
  std::uint16_t method = 0;  ///< 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t header_offset = 0;  ///< the local header
  std::uint64_t data_offset = 0;    ///< the first byte after the local header

  bool stored() const { return method == 0; }
};

/// Bounds on what the reader accepts before reading it (a tensor archive needs far less).
inline constexpr std::size_t zip_max_central_directory = std::size_t{64} << 20;

/// A validated archive: the end record found (its comment length consistent with the file's
/// end), one disk, the central directory where the end record says and nothing after it, every
/// entry's local header agreeing with it (name, method, flags, CRC-32, sizes), members inside
/// the file and not overlapping, no duplicate names, no encryption, no data descriptors, no
/// method but stored and deflated.  Throws data_error ("<file>: <what> at byte N").
class zip_archive {
 public:
  explicit zip_archive(std::shared_ptr<const byte_source> bytes);

  const std::vector<zip_member>& members() const { return members_; }
  const std::shared_ptr<const byte_source>& bytes() const { return bytes_; }

  /// Reads a stored member once and checks its CRC-32.  Throws data_error.
  void verify_stored(const zip_member& member) const;

  /// The member's content, inflated when deflated, with its size and CRC-32 checked.  Memory
  /// grows with the bytes inflation actually produces, never with the declared size, and
  /// inflation stops at the first byte past the declared size (no zip bomb gets further).
  std::string extract(const zip_member& member) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_central_directory();
  void check_local_header(zip_member& member, std::uint16_t flags, std::uint64_t central_end);

  std::shared_ptr<const byte_source> bytes_;
  std::vector<zip_member> members_;
};

/// A member to write: its name and its content.
struct zip_entry {
  std::string name;
  std::string_view content;
};

/// Writes a ZIP archive of stored members to `out` as Python's zipfile writes NumPy's
/// np.savez: a ZIP64 extra field with both sizes in every local header (force_zip64), ZIP64
/// central-directory fields and end records only where a value needs them; times are fixed
/// (1980-01-01) so that equal tensors give equal files.  Throws io_error.
void write_zip(output_file& out, const std::vector<zip_entry>& entries);

}  // namespace bnorm
