// SPDX-License-Identifier: Apache-2.0
// A model's batch-normalization layers found by their names alone, their values summarized as
// NumPy would (min, max, mean, median of the finite values), and their channels flagged.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/safetensors.hpp"
#include "model_layers.hpp"
#include "settings_archive.hpp"
#include "test_support.hpp"

namespace {

std::vector<std::string> prefixes(const std::vector<bnorm::layer_names>& layers) {
  std::vector<std::string> out;
  for (const auto& layer : layers) out.push_back(layer.prefix);
  return out;
}

std::vector<std::string> suffixes(const bnorm::layer_names& layer) {
  std::vector<std::string> out;
  for (const auto& t : layer.tensors) out.push_back(t.suffix + "=" + t.role);
  return out;
}

}  // namespace

TEST_CASE("a layer is a prefix with a running mean and a running variance") {
  const auto layers = bnorm::find_layer_names(
      {"conv.weight", "bn.num_batches_tracked", "bn.running_var", "bn.weight", "bn.running_mean",
       "half.running_mean", "other.running_var", "running_mean", "running_var"});
  // In the order of the running means; a mean without its variance is no layer.
  CHECK(prefixes(layers) == std::vector<std::string>{"bn.", ""});
  CHECK(suffixes(layers[0]) == std::vector<std::string>{"weight=weight",
                                                        "running_mean=running_mean",
                                                        "running_var=running_var",
                                                        "num_batches_tracked=num_batches_tracked"});
  CHECK(layers[0].tensors[0].name == "bn.weight");
  CHECK(suffixes(layers[1]) ==
        std::vector<std::string>{"running_mean=running_mean", "running_var=running_var"});
}

TEST_CASE("Keras's names, and PyTorch's winning where a prefix has both") {
  const auto keras = bnorm::find_layer_names(
      {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "bn/weight"});
  REQUIRE(keras.size() == 1);
  CHECK(suffixes(keras[0]) == std::vector<std::string>{"gamma=weight", "beta=bias",
                                                       "moving_mean=running_mean",
                                                       "moving_variance=running_var"});
  const auto both = bnorm::find_layer_names(
      {"x.moving_mean", "x.moving_variance", "x.running_mean", "x.running_var"});
  REQUIRE(both.size() == 1);
  CHECK(suffixes(both[0]) ==
        std::vector<std::string>{"running_mean=running_mean", "running_var=running_var"});
  CHECK(bnorm::find_layer_names({"a", "b.running_mean", "c.moving_variance"}).empty());
}

TEST_CASE("summaries are over the finite values, the median NumPy's") {
  const auto s = bnorm::summarize({3, NAN, -1, INFINITY, 2, 10});
  CHECK(s.count == 6);
  CHECK(s.nonfinite == 2);
  CHECK(s.min == -1);
  CHECK(s.max == 10);
  CHECK(s.mean == 3.5);
  CHECK(s.median == 2.5);
  CHECK(bnorm::summarize({5, 1, 3}).median == 3);
  const auto none = bnorm::summarize({NAN, -INFINITY});
  CHECK(none.nonfinite == 2);
  CHECK(std::isnan(none.min));
  CHECK(std::isnan(none.median));
  // The middle of two huge values does not overflow.
  CHECK(bnorm::summarize({1.5e308, 1.7e308}).median == 1.6e308);
}

TEST_CASE("each broken channel is counted once") {
  bnorm::model_layer layer;
  layer.running_var = {0, -0.0, NAN, INFINITY, -INFINITY, -2, 1e-300};
  layer.weight = {0.5, -0.001, 0.01, NAN, 0};
  const auto f = bnorm::flag_channels(layer, 0.01);
  CHECK(f.var_zero == 2);
  CHECK(f.var_nan == 1);
  CHECK(f.var_inf == 2);
  CHECK(f.var_negative == 1);
  CHECK(f.gamma_small == 2);  // -0.001 and 0; 0.01 is not below 0.01, NaN is no number
  CHECK(bnorm::flag_channels(layer, 0).gamma_small == 0);
}

TEST_CASE("read_layers takes what the file says of each layer, and nothing for the others") {
  bnorm_test::temp_dir dir;
  {
    bnorm::output_file out(dir.file("m.safetensors"));
    std::vector<bnorm::named_tensor> tensors;
    for (const char* name :
         {"a.running_mean", "a.running_var", "b.running_mean", "b.running_var"}) {
      tensors.push_back(
          bnorm::make_named_tensor({bnorm::dtype::float32(), {2}, false, name}, {1, 2}));
    }
    bnorm::write_safetensors(out, std::move(tensors));
    out.commit();
  }
  const bnorm_test::settings_archive archive(
      bnorm::open_safetensors(bnorm::byte_source::from_memory(
          "m.safetensors", bnorm_test::read_bytes(dir.file("m.safetensors")))),
      {{"b.", {1e-3, std::nullopt, "onnx", std::nullopt}}});
  const auto layers = bnorm::read_layers(archive, 0);
  REQUIRE(layers.size() == 2);
  CHECK(archive.asked == std::vector<std::string>{"a.", "b."});
  CHECK_FALSE(layers[0].settings.has_value());
  REQUIRE(layers[1].settings.has_value());
  CHECK(layers[1].settings->epsilon == 1e-3);
  CHECK_FALSE(layers[1].settings->momentum.has_value());
}
