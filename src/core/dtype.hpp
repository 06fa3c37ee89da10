// SPDX-License-Identifier: Apache-2.0
// Element types bnorm reads and writes, and their conversion to and from double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bnorm {

/// The kind of a scalar: what its bytes mean.
/// `bfloat` is bfloat16, which only safetensors carries (NumPy has no descr for it).
enum class scalar_kind : std::uint8_t { boolean, signed_int, unsigned_int, floating, bfloat };

/// A NumPy scalar type that bnorm can read: kind, size in bytes and byte order.
struct dtype {
  scalar_kind kind = scalar_kind::floating;
  std::uint8_t size = 8;
  bool big_endian = false;

  static constexpr dtype float16() { return {scalar_kind::floating, 2, false}; }
  static constexpr dtype float32() { return {scalar_kind::floating, 4, false}; }
  static constexpr dtype float64() { return {scalar_kind::floating, 8, false}; }
  static constexpr dtype bfloat16() { return {scalar_kind::bfloat, 2, false}; }

  bool is_floating() const { return kind == scalar_kind::floating || kind == scalar_kind::bfloat; }
  friend bool operator==(const dtype&, const dtype&) = default;
};

/// Parses a NumPy descr such as "<f4", "|b1" or ">i8".  Throws data_error naming what is
/// unsupported (complex, object, string, structured ...); `what` prefixes the message.
dtype parse_descr(std::string_view descr);

/// The descr NumPy writes for this type, e.g. "<f4" or "|u1".  Throws data_error for
/// bfloat16, which NumPy cannot store.
std::string descr_of(dtype type);

/// A person's name for the type: "float32", "int16", "bool", "bfloat16" (with ">" for
/// big-endian).
std::string name_of(dtype type);

/// The kind of number a type holds, as a dataset's files must agree on it: "floating-point",
/// "integer" or "bool".
const char* class_name_of(dtype type);

/// The type bnorm computes and writes for an input of `type`: floating types keep their
/// precision, booleans and integers become float32 (as the frameworks' BN layers require).
dtype output_type_for(dtype type);

/// Converts `count` elements stored as `type` at `bytes` to double.
void decode(dtype type, const std::byte* bytes, std::size_t count, double* out);

/// Converts doubles to little-endian floating `type` (float16/32/64, bfloat16), correctly
/// rounded.
void encode(dtype type, const double* values, std::size_t count, std::byte* out);

}  // namespace bnorm
