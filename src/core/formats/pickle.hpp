// SPDX-License-Identifier: Apache-2.0
// The values of a Python pickle, as far as a tensor checkpoint (torch.save) uses them, and a
// reader and writer for them that run nothing: a pickle is a program for a stack machine, and
// this one knows only the instructions that build containers, scalars and tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bnorm::pickle {

struct value;
/// Values are shared: the memo may hand one object to several places, as Python does, and the
/// writer memoizes by identity so that sharing survives a round trip.
using value_ptr = std::shared_ptr<value>;

/// A typed storage, as a persistent id ('storage', torch.<Type>Storage, key, location, numel)
/// names it: `numel` elements of `storage_type` in the record "data/<key>".
struct storage {
  std::string storage_type;  ///< "FloatStorage", "HalfStorage", "LongStorage", ...
  std::string key;
  std::string location;  ///< "cpu", "cuda:0", ...: where torch would put it; bnorm reads bytes
  std::uint64_t numel = 0;
};

/// A tensor as torch._utils._rebuild_tensor_v2 (or _rebuild_parameter around it) rebuilds it:
/// a view of `size` with `stride` (in elements) from `offset` of a storage that others may share.
struct tensor {
  std::shared_ptr<const storage> data;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> size;
  std::vector<std::uint64_t> stride;
  bool requires_grad = false;
  bool parameter = false;  ///< wrapped in _rebuild_parameter (an nn.Parameter)
};

enum class kind : std::uint8_t {
  none,
  boolean,
  integer,      ///< fits int64
  big_integer,  ///< LONG1/LONG4 past int64: `text` holds its little-endian two's complement
  floating,
  text,   ///< str (UTF-8)
  bytes,  ///< bytes
  list,
  tuple,
  dict,          ///< a dict; `entries` in insertion order
  ordered_dict,  ///< collections.OrderedDict; `entries` in order, `state` from BUILD (_metadata)
  tensor,
};

struct value {
  pickle::kind kind = kind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;                                      ///< text, bytes, big_integer
  std::vector<value_ptr> items;                          ///< list, tuple
  std::vector<std::pair<value_ptr, value_ptr>> entries;  ///< dict, ordered_dict
  value_ptr state;        ///< ordered_dict: BUILD's argument, or null
  pickle::tensor tensor;  ///< tensor
};

/// Bounds on what load accepts, checked before anything is allocated from the pickle's word.
inline constexpr std::size_t max_pickle_size = std::size_t{64} << 20;
inline constexpr std::size_t max_stack_depth = 4096;  ///< nesting of MARKs and containers
inline constexpr std::size_t max_memo_entries = std::size_t{1} << 20;
inline constexpr std::size_t max_tensor_rank = 32;

/// Interprets `bytes` (protocols 2 to 5) and returns the value STOP leaves.  Only the opcodes
/// and globals of a tensor checkpoint are known (collections.OrderedDict,
/// torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the typed storages); any other
/// GLOBAL, REDUCE or BUILD target is refused by its name, and nothing is ever called.  Throws
/// data_error("<what> at byte N").
value_ptr load(std::string_view bytes);

/// The pickle of `root` at protocol 2 (3 when it holds bytes), as torch.save writes one, that
/// torch.load(weights_only=True) reads when `root` holds no float (torch 1.13 refuses BINFLOAT).
std::string dump(const value& root);

}  // namespace bnorm::pickle
