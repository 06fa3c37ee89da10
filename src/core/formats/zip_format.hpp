// SPDX-License-Identifier: Apache-2.0
// The numbers of the ZIP format (PKWARE APPNOTE 6.3) that its reader and its writers share.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bnorm::zip_format {

inline constexpr std::uint32_t local_signature = 0x04034b50;
inline constexpr std::uint32_t descriptor_signature = 0x08074b50;
inline constexpr std::uint32_t central_signature = 0x02014b50;
inline constexpr std::uint32_t end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::size_t local_header_size = 30;
inline constexpr std::size_t central_header_size = 46;
inline constexpr std::size_t end_record_size = 22;
inline constexpr std::size_t zip64_end_size = 56;
inline constexpr std::size_t zip64_locator_size = 20;
inline constexpr std::uint16_t zip64_extra_id = 0x0001;
/// A 32-bit (or 16-bit) field holding this says: the value is in the ZIP64 extra field.
inline constexpr std::uint32_t marker32 = 0xffffffff;
inline constexpr std::uint16_t marker16 = 0xffff;
inline constexpr std::uint16_t flag_data_descriptor = 0x0008;
inline constexpr std::uint16_t flag_utf8_name = 0x0800;
/// "Version needed" with ZIP64 fields, as Python's zipfile and miniz write it.
inline constexpr std::uint16_t zip64_version = 45;

}  // namespace bnorm::zip_format
