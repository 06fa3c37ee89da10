// SPDX-License-Identifier: Apache-2.0
// ZIP archives as NumPy's .npz uses them (PKWARE APPNOTE 6.3): members stored or deflated, with
// ZIP64 sizes and offsets.  The reader trusts nothing: every size and offset is checked against
// the file and against the other copy of it before anything is read or allocated from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
  /// The data descriptor after the data (flag 0x08), which belongs to the member; or 0.
  std::uint64_t descriptor_size = 0;

  bool stored() const { return method == 0; }
};

/// Bounds on what the reader accepts before reading it.  Each member costs some 200 bytes in
/// memory, so a directory of a million empty members would cost more than the archive; a
/// tensor archive holds tens or thousands of members.
inline constexpr std::size_t zip_max_central_directory = std::size_t{8} << 20;
inline constexpr std::size_t zip_max_members = 65'536;

/// A deflated member is inflated into memory (its tensor is read by position, from several
/// threads), so the size it declares is bounded before anything is inflated: at most the
/// larger of this and zip_max_inflation_ratio times its compressed size.  A small file then
/// cannot claim gigabytes (a deflate bomb reaches 1,032:1), while a large compressed tensor
/// still inflates in memory about as large as the file.
inline constexpr std::uint64_t zip_max_inflated = std::uint64_t{64} << 20;
inline constexpr std::uint64_t zip_max_inflation_ratio = 4;

/// The largest a member may inflate to (see zip_max_inflated).
std::uint64_t zip_inflation_limit(std::uint64_t compressed_size);

/// Why a member name is refused, or "" to accept it: a name that readers or extractors could
/// take two ways.  Refused: empty, a NUL byte, not valid UTF-8, not ASCII without the UTF-8
/// flag (`utf8_flag`, bit 11), a backslash, absolute ("/..." or a drive letter "C:"), and a
/// segment that is empty, "." or "..".  The reader applies it to every member, the writers to
/// every name they are given.
std::string zip_name_problem(std::string_view name, bool utf8_flag);

/// Checks a member's name while the central directory is read: returns why the name is
/// refused, or "" to accept it.
using zip_name_check = std::function<std::string(const std::string& name)>;

/// A validated archive, which every reader reads one way: one end record (its comment length
/// reaching the file's end, no other end record reaching it, no end-record signature after
/// it), a ZIP64 end record right before its locator and agreeing with the 32-bit record, one
/// disk, the central directory where the end record says and nothing after it, every entry's
/// local header agreeing with it (name, method, flags, CRC-32, sizes), members tiling the file
/// from its first byte to the central directory (no prefix, gap or overlap), names that
/// zip_name_problem accepts and no duplicates, no Unicode Path extra field naming another
/// name, no ZIP64 extra values beyond those deferred to, regular files only, no encryption, a
/// data descriptor (flag 0x08, as torch.save and a stream write) only where the central
/// directory's CRC-32 and sizes agree with it, read one way only, no flags or version beyond
/// what Python's zipfile reads, no method but stored and deflated.  Throws data_error ("<file>:
/// <what> at byte N").
class zip_archive {
 public:
  /// `check_name`, when given, is applied to every member as it is read, so a wrong member
  /// is refused before the rest of the directory is.
  explicit zip_archive(std::shared_ptr<const byte_source> bytes, zip_name_check check_name = {});

  const std::vector<zip_member>& members() const { return members_; }
  const std::shared_ptr<const byte_source>& bytes() const { return bytes_; }

  /// Reads a stored member once and checks its CRC-32.  Throws data_error.
  void verify_stored(const zip_member& member) const;

  /// The member's content, inflated when deflated, with its size and CRC-32 checked.  A
  /// declared size past zip_inflation_limit() is refused before inflating; memory then grows
  /// with the bytes inflation actually produces, and inflation stops at the first byte past
  /// the declared size (no zip bomb gets further).
  std::string extract(const zip_member& member) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_central_directory(const zip_name_check& check_name);
  void check_local_header(zip_member& member, std::uint16_t flags, std::uint64_t central_end);
  std::uint64_t check_descriptor(const zip_member& member, std::uint64_t at,
                                 std::uint64_t central_end, bool zip64) const;

  std::shared_ptr<const byte_source> bytes_;
  std::vector<zip_member> members_;
};

}  // namespace bnorm
