#include "state_tensors.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>

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

// Prefixes under which the archive holds a running mean, for the message when none matched.
std::string candidate_prefixes(const std::vector<std::string>& names) {
  std::set<std::string> prefixes;
  for (const std::string& name : names) {
    for (const std::string_view mean : {"running_mean", "moving_mean"}) {
      if (name.ends_with(mean)) prefixes.insert(name.substr(0, name.size() - mean.size()));
    }
  }
  if (prefixes.empty()) return "none of its tensors is a running_mean or moving_mean";
  std::string text = "prefixes with a running mean: ";
  std::size_t shown = 0;
  for (const std::string& p : prefixes) {
    if (shown == 5) {
      text += ", ...";
      break;
    }
    if (shown++ > 0) text += ", ";
    text += quoted_name(p);
  }
  return text;
}

}  // namespace

bn_state read_state_tensors(const tensor_archive& archive, const std::string& prefix) {
  const std::vector<std::string> names = archive.names();
  const auto has = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  bn_state state;
  bool found_any = false;
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
    found_any = true;
    const std::string& name = has_torch ? torch : keras;
    const auto source = archive.open(name);
    const tensor_info& info = source->info();
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
  if (!found_any) {
    throw data_error(archive.file_name() +
                     ": no state tensor (weight, bias, running_mean, "
                     "running_var, num_batches_tracked, or Keras's gamma, beta, moving_mean, "
                     "moving_variance) under the prefix " +
                     quoted_name(prefix) + "; " + candidate_prefixes(names));
  }
  return state;
}

std::vector<std::string> state_tensor_names(bool affine, bool track_running_stats) {
  std::vector<std::string> names;
  if (affine) names.insert(names.end(), {"weight", "bias"});
  if (track_running_stats)
    names.insert(names.end(), {"running_mean", "running_var", "num_batches_tracked"});
  return names;
}

std::vector<named_tensor> state_tensors(const bn_state& state, bool affine,
                                        bool track_running_stats) {
  std::vector<named_tensor> tensors;
  const auto add = [&](const char* name, const std::vector<double>& values) {
    tensor_info info{dtype::float64(), {values.size()}, false, name};
    tensors.push_back(make_named_tensor(std::move(info), values));
  };
  if (affine) {
    add("weight", state.weight);
    add("bias", state.bias);
  }
  if (track_running_stats) {
    add("running_mean", state.running_mean);
    add("running_var", state.running_var);
    // The counter's bytes directly, not through a double, which rounds past 2^53.
    named_tensor counter;
    counter.info = {{scalar_kind::signed_int, 8, false}, {}, false, "num_batches_tracked"};
    counter.data.resize(8);
    for (std::size_t i = 0; i < 8; ++i) {
      counter.data[i] = static_cast<char>(
          (static_cast<std::uint64_t>(state.num_batches_tracked) >> (8 * i)) & 0xff);
    }
    tensors.push_back(std::move(counter));
  }
  return tensors;
}

}  // namespace bnorm
