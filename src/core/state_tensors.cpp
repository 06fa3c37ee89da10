// SPDX-License-Identifier: Apache-2.0
#include "state_tensors.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

#include "error.hpp"
#include "quoted_name.hpp"

namespace bnorm {
namespace {

struct state_name {
  const char* torch;
  const char* keras;  // nullptr: Keras has no such value
};

constexpr std::array<state_name, 5> state_names{{{"weight", "gamma"},
                                                 {"bias", "beta"},
                                                 {"running_mean", "moving_mean"},
                                                 {"running_var", "moving_variance"},
                                                 {"num_batches_tracked", nullptr}}};

std::vector<double> read_values(const tensor_source& source) {
  std::vector<double> values(source.info().element_count());
  source.read_at(0, values);
  return values;
}

bool has_name(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The prefixes under which some tensor of a state is named, in the file's order.
std::vector<std::string> state_prefixes(const std::vector<std::string>& names) {
  std::vector<std::string> prefixes;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    for (const state_name& n : state_names) {
      for (const char* value : {n.torch, n.keras}) {
        if (value == nullptr || !name.ends_with(value)) continue;
        std::string prefix = name.substr(0, name.size() - std::string_view(value).size());
        if (seen.insert(prefix).second) prefixes.push_back(std::move(prefix));
      }
    }
  }
  return prefixes;
}

// Whether `wrapper` is one or more of the wrappers PyTorch's tools put before a model's names:
// DataParallel's and DistributedDataParallel's "module.", PyTorch Lightning's "model.".
bool is_wrapper(std::string_view wrapper) {
  if (wrapper.empty()) return false;
  while (!wrapper.empty()) {
    if (wrapper.starts_with("module.")) {
      wrapper.remove_prefix(7);
    } else if (wrapper.starts_with("model.")) {
      wrapper.remove_prefix(6);
    } else {
      return false;
    }
  }
  return true;
}

std::string quoted_list(const std::vector<std::string>& names, std::size_t most) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) {
    text += (i > 0 ? ", " : "") + quoted_name(names[i]);
  }
  return text;
}

// The prefixes of every batch-norm layer (a running mean and a running variance, in either
// framework's names), for the message when none matched.
std::string layer_prefixes_text(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 8;
  // A set: a model of 65,536 tensors has thousands of prefixes, each looked up four times.
  const std::set<std::string_view> all(names.begin(), names.end());
  const auto has = [&](const std::string& name) { return all.count(name) > 0; };
  std::vector<std::string> layers;
  for (const std::string& prefix : state_prefixes(names)) {
    const bool mean = has(prefix + "running_mean") || has(prefix + "moving_mean");
    const bool var = has(prefix + "running_var") || has(prefix + "moving_variance");
    if (mean && var) layers.push_back(prefix);
  }
  if (layers.empty()) {
    return "no prefix holds a batch-norm layer (running_mean and running_var, or moving_mean "
           "and moving_variance)";
  }
  std::string text = "prefixes of a batch-norm layer (running_mean and running_var)";
  if (layers.size() > shown) {
    text += ", " + std::to_string(shown) + " of " + std::to_string(layers.size());
  }
  text += ": " + quoted_list(layers, shown);
  if (layers.size() > shown) text += ", ...";
  return text;
}

}  // namespace

std::optional<std::string> resolve_prefix(const std::string& file,
                                          const std::vector<std::string>& prefixes,
                                          const std::string& prefix) {
  std::vector<std::string> tries{prefix};
  if (!prefix.empty() && !prefix.ends_with('.')) tries.push_back(prefix + ".");
  for (const std::string& wanted : tries) {
    if (has_name(prefixes, wanted)) return wanted;
    std::vector<std::string> wrapped;
    for (const std::string& p : prefixes) {
      if (p.size() > wanted.size() && p.ends_with(wanted) &&
          is_wrapper(std::string_view(p).substr(0, p.size() - wanted.size()))) {
        wrapped.push_back(p);
      }
    }
    if (wrapped.size() == 1) return wrapped.front();
    if (wrapped.size() > 1) {
      throw data_error(file + ": no state tensor is under the prefix " + quoted_name(wanted) +
                       ", and " + std::to_string(wrapped.size()) +
                       " layers are under it in wrappers: " + quoted_list(wrapped, 8) +
                       (wrapped.size() > 8 ? ", ..." : "") + "; the prefix must name one");
    }
  }
  return std::nullopt;
}

stored_state read_stored_state(const tensor_archive& archive, const std::string& asked) {
  const std::vector<std::string> names = archive.names();
  const std::optional<std::string> found_prefix =
      resolve_prefix(archive.file_name(), state_prefixes(names), asked);
  if (!found_prefix) {
    throw data_error(archive.file_name() +
                     ": no state tensor (weight, bias, running_mean, "
                     "running_var, num_batches_tracked, or Keras's gamma, beta, moving_mean, "
                     "moving_variance) under the prefix " +
                     quoted_name(asked) + "; " + layer_prefixes_text(names));
  }
  const std::string& prefix = *found_prefix;
  const auto has = [&](const std::string& name) { return has_name(names, name); };
  stored_state stored;
  stored.prefix = prefix;
  stored.settings = archive.settings_of(prefix);
  bn_state& state = stored.state;
  for (const state_name& n : state_names) {
    const std::string torch = prefix + n.torch;
    const std::string keras = n.keras ? prefix + n.keras : std::string();
    const bool has_torch = has(torch);
    const bool has_keras = n.keras && has(keras);
    if (has_torch && has_keras) {
      throw data_error(archive.file_name() + ": both " + quoted_name(torch) + " and " +
                       quoted_name(keras) +
                       " are given (PyTorch's and Keras's name for one value)");
    }
    if (!has_torch && !has_keras) continue;
    const std::string& name = has_torch ? torch : keras;
    const auto source = archive.open(name);
    const tensor_info& info = source->info();
    stored.entries.push_back({n.torch, name, info.type, info.shape});
    if (std::string(n.torch) == "num_batches_tracked") {
      const auto refuse = [&] {
        throw data_error(archive.file_name() + ": " + quoted_name(name) +
                         " is not one non-negative integer");
      };
      // The count from the header, before anything is read: a forged counter of a billion
      // elements would otherwise be decoded whole.
      if (info.element_count() != 1) refuse();
      if (info.type.kind == scalar_kind::signed_int ||
          info.type.kind == scalar_kind::unsigned_int) {
        // Read as the integer it is: through a double, 2^53 + 1 would become 2^53.
        const std::optional<std::int64_t> count = source->read_int64_at(0);
        if (!count || *count < 0) refuse();
        state.num_batches_tracked = *count;
        continue;
      }
      const std::vector<double> values = read_values(*source);
      if (!(values[0] >= 0) || values[0] >= 0x1p63 || values[0] != std::floor(values[0])) refuse();
      state.num_batches_tracked = static_cast<std::int64_t>(values[0]);
      continue;
    }
    if (info.shape.size() != 1) {
      throw data_error(archive.file_name() + ": " + quoted_name(name) + " has shape " +
                       shape_to_string(info.shape) + "; a state value is one number per channel");
    }
    // Decoded to double, a value costs 8 bytes per element whatever its file type: a forged
    // 32 MB vector of bytes would need 256 MiB.  No layer has this many channels.
    if (info.element_count() > max_state_channels) {
      throw data_error(archive.file_name() + ": " + quoted_name(name) + " has " +
                       std::to_string(info.element_count()) + " values; a state holds at most " +
                       std::to_string(max_state_channels) + " channels");
    }
    std::vector<double> values = read_values(*source);
    if (values.empty())
      throw data_error(archive.file_name() + ": " + quoted_name(name) + " is empty");
    const std::string_view torch_name = n.torch;
    if (torch_name == "weight") state.weight = std::move(values);
    if (torch_name == "bias") state.bias = std::move(values);
    if (torch_name == "running_mean") state.running_mean = std::move(values);
    if (torch_name == "running_var") state.running_var = std::move(values);
  }
  return stored;
}

bn_state read_state_tensors(const tensor_archive& archive, const std::string& prefix) {
  return read_stored_state(archive, prefix).state;
}

std::vector<std::string> state_tensor_names(bool affine, bool track_running_stats) {
  std::vector<std::string> names;
  if (affine) names.insert(names.end(), {"weight", "bias"});
  if (track_running_stats)
    names.insert(names.end(), {"running_mean", "running_var", "num_batches_tracked"});
  return names;
}

namespace {

bool is_integer(dtype type) {
  return type.kind == scalar_kind::signed_int || type.kind == scalar_kind::unsigned_int;
}

// A counter's little-endian bytes in `type` (an integer type of up to 8 bytes that holds it).
std::string counter_bytes(std::int64_t count, dtype type) {
  std::string bytes(type.size, '\0');
  for (std::size_t i = 0; i < type.size; ++i) {
    bytes[i] = static_cast<char>((static_cast<std::uint64_t>(count) >> (8 * i)) & 0xff);
  }
  return bytes;
}

bool holds_count(dtype type, std::int64_t count) {
  if (!is_integer(type) || type.size == 0 || type.size > 8) return false;
  if (type.size == 8) return true;  // a count is never negative
  const unsigned bits =
      static_cast<unsigned>(8 * type.size) - (type.kind == scalar_kind::signed_int ? 1 : 0);
  return static_cast<std::uint64_t>(count) < (std::uint64_t{1} << bits);
}

}  // namespace

std::vector<named_tensor> state_tensors(const bn_state& state, bool affine,
                                        bool track_running_stats, const state_tensor_style& style) {
  const stored_state* stored = style.stored;
  const auto entry_of = [&](std::string_view value) -> const stored_state_entry* {
    if (stored == nullptr) return nullptr;
    for (const stored_state_entry& e : stored->entries) {
      if (e.value == value) return &e;
    }
    return nullptr;
  };
  // The type of a value the layer did not hold: that of its first floating one.
  dtype fallback = dtype::float64();
  if (stored != nullptr) {
    for (const stored_state_entry& e : stored->entries) {
      if (e.type.is_floating()) {
        fallback = e.type;
        break;
      }
    }
  }
  // In place, the layer keeps the keys it had (a model's load_state_dict(strict=True) checks
  // them): only the values it holds are written, under their names.
  const bool in_place = stored != nullptr && style.in_place;
  std::vector<named_tensor> tensors;
  const auto add = [&](const state_name& n, const std::vector<double>& values) {
    const stored_state_entry* e = entry_of(n.torch);
    if (in_place && e == nullptr) return;
    dtype type = e != nullptr && e->type.is_floating() ? e->type : fallback;
    if (e != nullptr && !e->type.is_floating()) type = dtype::float64();
    if (style.written_type != nullptr) type = style.written_type(type);
    type.big_endian = false;  // a named_tensor's bytes are little-endian
    tensor_info info{type, {values.size()}, false, in_place ? e->name : std::string(n.torch)};
    tensors.push_back(make_named_tensor(std::move(info), values));
  };
  if (affine) {
    add(state_names[0], state.weight);
    add(state_names[1], state.bias);
  }
  if (track_running_stats) {
    add(state_names[2], state.running_mean);
    add(state_names[3], state.running_var);
    const state_name& n = state_names[4];
    const stored_state_entry* e = entry_of(n.torch);
    if (in_place && e == nullptr) return tensors;
    // The counter's bytes directly, not through a double, which rounds past 2^53.
    dtype type{scalar_kind::signed_int, 8, false};
    if (in_place && holds_count(e->type, state.num_batches_tracked)) {
      type = e->type;
      type.big_endian = false;
    }
    named_tensor counter;
    // One element, as read_stored_state checked: a scalar, or (1,) in some files.
    counter.info = {type, in_place ? e->shape : std::vector<std::size_t>{}, false,
                    in_place ? e->name : std::string(n.torch)};
    counter.data = counter_bytes(state.num_batches_tracked, type);
    tensors.push_back(std::move(counter));
  }
  return tensors;
}

}  // namespace bnorm
