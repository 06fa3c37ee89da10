// SPDX-License-Identifier: Apache-2.0
// A batch-normalization state as named tensors: PyTorch and Keras names under a prefix, the
// messages when the prefix matches nothing or one value is named twice, and the round trip.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/registry.hpp"
#include "formats/safetensors.hpp"
#include "settings_archive.hpp"
#include "state_tensors.hpp"
#include "test_support.hpp"

using bnorm::data_error;
using bnorm::dtype;

namespace {

bnorm::named_tensor vector_of(const std::string& name, std::vector<double> values) {
  return bnorm::make_named_tensor({dtype::float32(), {values.size()}, false, name}, values);
}

std::unique_ptr<bnorm::tensor_archive> archive_of(std::vector<bnorm::named_tensor> tensors) {
  bnorm_test::temp_dir dir;
  {
    bnorm::output_file out(dir.file("m.safetensors"));
    bnorm::write_safetensors(out, std::move(tensors));
    out.commit();
  }
  return bnorm::open_safetensors(bnorm::byte_source::from_memory(
      "m.safetensors", bnorm_test::read_bytes(dir.file("m.safetensors"))));
}

}  // namespace

TEST_CASE("read_state_tensors takes PyTorch names under a prefix and ignores other layers") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(vector_of("layer1.0.bn1.running_mean", {1, 2}));
  tensors.push_back(vector_of("layer1.0.bn1.running_var", {3, 4}));
  tensors.push_back(vector_of("layer1.0.bn1.weight", {5, 6}));
  tensors.push_back(vector_of("layer1.0.bn2.running_mean", {7, 8}));
  tensors.push_back(vector_of("layer1.0.conv1.weight", {9}));
  tensors.push_back(bnorm::make_named_tensor(
      {{bnorm::scalar_kind::signed_int, 8, false}, {}, false, "layer1.0.bn1.num_batches_tracked"},
      {12}));
  const auto archive = archive_of(std::move(tensors));
  const bnorm::bn_state state = bnorm::read_state_tensors(*archive, "layer1.0.bn1.");
  CHECK(state.running_mean == std::vector<double>{1, 2});
  CHECK(state.running_var == std::vector<double>{3, 4});
  CHECK(state.weight == std::vector<double>{5, 6});
  CHECK(state.bias.empty());
  CHECK(state.num_batches_tracked == 12);
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive, "layer2."),
                       "m.safetensors: no state tensor (weight, bias, running_mean, running_var, "
                       "num_batches_tracked, or Keras's gamma, beta, moving_mean, "
                       "moving_variance) under the prefix 'layer2.'; prefixes of a batch-norm "
                       "layer (running_mean and running_var): 'layer1.0.bn1.'",
                       data_error);
}

TEST_CASE("read_state_tensors takes Keras names and refuses one value named both ways") {
  std::vector<bnorm::named_tensor> keras;
  keras.push_back(vector_of("gamma", {2}));
  keras.push_back(vector_of("beta", {1}));
  keras.push_back(vector_of("moving_mean", {3}));
  keras.push_back(vector_of("moving_variance", {4}));
  const bnorm::bn_state state = bnorm::read_state_tensors(*archive_of(std::move(keras)), "");
  CHECK(state.weight == std::vector<double>{2});
  CHECK(state.bias == std::vector<double>{1});
  CHECK(state.running_mean == std::vector<double>{3});
  CHECK(state.running_var == std::vector<double>{4});

  std::vector<bnorm::named_tensor> both;
  both.push_back(vector_of("weight", {2}));
  both.push_back(vector_of("gamma", {2}));
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(both)), ""),
                       "m.safetensors: both 'weight' and 'gamma' are given (PyTorch's and "
                       "Keras's name for one value)",
                       data_error);
}

TEST_CASE("read_state_tensors refuses values of the wrong shape or kind") {
  std::vector<bnorm::named_tensor> matrix;
  matrix.push_back(bnorm::make_named_tensor({dtype::float32(), {1, 2}, false, "weight"}, {1, 2}));
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(matrix)), ""),
                       "m.safetensors: 'weight' has shape (1, 2); a state value is one number "
                       "per channel",
                       data_error);
  std::vector<bnorm::named_tensor> count;
  count.push_back(vector_of("num_batches_tracked", {1.5}));
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(count)), ""),
                       "m.safetensors: 'num_batches_tracked' is not one non-negative integer",
                       data_error);
}

namespace {

bnorm::named_tensor counter_of(dtype type, std::vector<std::size_t> shape, std::string bytes) {
  return {{type, std::move(shape), false, "num_batches_tracked"}, std::move(bytes)};
}

std::string le64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

}  // namespace

TEST_CASE("num_batches_tracked of any integer type is read exactly, past 2^53") {
  // Through a double, 2^53 + 1 once read as 2^53.
  const std::uint64_t big = (std::uint64_t{1} << 53) + 1;
  for (const auto kind : {bnorm::scalar_kind::signed_int, bnorm::scalar_kind::unsigned_int}) {
    std::vector<bnorm::named_tensor> tensors;
    tensors.push_back(counter_of({kind, 8, false}, {}, le64(big)));
    CHECK(bnorm::read_state_tensors(*archive_of(std::move(tensors)), "").num_batches_tracked ==
          static_cast<std::int64_t>(big));
  }
  std::vector<bnorm::named_tensor> i32;
  i32.push_back(
      counter_of({bnorm::scalar_kind::signed_int, 4, false}, {1}, le64(12345).substr(0, 4)));
  CHECK(bnorm::read_state_tensors(*archive_of(std::move(i32)), "").num_batches_tracked == 12345);
  for (const std::uint64_t bad : {~std::uint64_t{0}, std::uint64_t{1} << 63}) {
    for (const auto kind : {bnorm::scalar_kind::signed_int, bnorm::scalar_kind::unsigned_int}) {
      std::vector<bnorm::named_tensor> tensors;
      tensors.push_back(counter_of({kind, 8, false}, {}, le64(bad)));
      CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(tensors)), ""),
                           "m.safetensors: 'num_batches_tracked' is not one non-negative integer",
                           data_error);
    }
  }
}

TEST_CASE("num_batches_tracked of several elements is refused from its header, unread") {
  // Two elements in a header that says so; a reader that decoded them first would need
  // memory for all of them, which a forged counter makes any size.
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(counter_of({bnorm::scalar_kind::signed_int, 8, false}, {2}, le64(1) + le64(2)));
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(tensors)), ""),
                       "m.safetensors: 'num_batches_tracked' is not one non-negative integer",
                       data_error);
}

TEST_CASE("a state vector of more channels than any layer has is refused from its header") {
  // One byte per value in the file, eight once decoded: refused before anything is read.
  bnorm::named_tensor huge;
  huge.info = {{bnorm::scalar_kind::unsigned_int, 1, false},
               {bnorm::max_state_channels + 1},
               false,
               "running_mean"};
  huge.data.assign(bnorm::max_state_channels + 1, '\0');
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(std::move(huge));
  CHECK_THROWS_WITH_AS(bnorm::read_state_tensors(*archive_of(std::move(tensors)), ""),
                       "m.safetensors: 'running_mean' has 4194305 values; a state holds at most "
                       "4194304 channels",
                       data_error);
  std::vector<bnorm::named_tensor> fits;
  fits.push_back(vector_of("running_mean", std::vector<double>(1000, 0.5)));
  CHECK(bnorm::read_state_tensors(*archive_of(std::move(fits)), "").running_mean.size() == 1000);
}

TEST_CASE("state_tensors writes PyTorch names that read back exactly") {
  bnorm::bn_state state;
  state.weight = {0.1, 0.2};
  state.bias = {-0.3, 1e-300};
  state.running_mean = {1.0 / 3, 2.0 / 3};
  state.running_var = {5, 6};
  state.num_batches_tracked = (std::int64_t{1} << 53) + 1;  // a double would round it
  for (const auto format : {bnorm::codec_named("npz"), bnorm::codec_named("safetensors")}) {
    bnorm_test::temp_dir dir;
    const std::string path =
        dir.file(format == bnorm::codec_named("npz") ? "s.npz" : "s.safetensors");
    {
      bnorm::output_file out(path);
      format->write_set(out, bnorm::state_tensors(state, true, true));
      out.commit();
    }
    const auto archive = bnorm::open_tensor_file(path, format);
    const bnorm::bn_state back = bnorm::read_state_tensors(*archive, "");
    CHECK(back.weight == state.weight);
    CHECK(back.bias == state.bias);
    CHECK(back.running_mean == state.running_mean);
    CHECK(back.running_var == state.running_var);
    CHECK(back.num_batches_tracked == state.num_batches_tracked);
    const auto counter = archive->open("num_batches_tracked");
    CHECK(counter->info().type == dtype{bnorm::scalar_kind::signed_int, 8, false});
    CHECK(counter->info().shape.empty());
  }
}

namespace {

bnorm::named_tensor typed(const std::string& name, dtype type, std::vector<double> values) {
  return bnorm::make_named_tensor({type, {values.size()}, false, name}, values);
}

std::vector<bnorm::named_tensor> layer_under(const std::string& prefix, double mean) {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(vector_of(prefix + "running_mean", {mean}));
  tensors.push_back(vector_of(prefix + "running_var", {1}));
  return tensors;
}

}  // namespace

TEST_CASE("a prefix is found under module. and model. wrappers, and without its final dot") {
  for (const std::string wrapper : {"module.", "model.", "module.model.", "model.module."}) {
    auto tensors = layer_under(wrapper + "bn1.", 2);
    tensors.push_back(vector_of("xmodule.bn1.running_mean", {9}));  // no wrapper: never found
    const auto archive = archive_of(std::move(tensors));
    for (const std::string asked : {"bn1.", "bn1"}) {
      const bnorm::stored_state stored = bnorm::read_stored_state(*archive, asked);
      CHECK(stored.prefix == wrapper + "bn1.");
      CHECK(stored.state.running_mean == std::vector<double>{2});
    }
  }
  // The prefix as asked comes first, then under wrappers, then with a dot.
  auto both = layer_under("bn1.", 1);
  for (auto& t : layer_under("module.bn1.", 2)) both.push_back(std::move(t));
  for (auto& t : layer_under("bn1", 3)) both.push_back(std::move(t));
  const auto archive = archive_of(std::move(both));
  CHECK(bnorm::read_stored_state(*archive, "bn1.").prefix == "bn1.");
  CHECK(bnorm::read_stored_state(*archive, "bn1").prefix == "bn1");
  CHECK(bnorm::read_stored_state(*archive, "module.bn1.").prefix == "module.bn1.");
}

TEST_CASE("a prefix under two wrappers is refused naming both") {
  auto tensors = layer_under("module.bn1.", 1);
  for (auto& t : layer_under("model.bn1.", 2)) tensors.push_back(std::move(t));
  const auto archive = archive_of(std::move(tensors));  // sorted by name: model. first
  CHECK_THROWS_WITH_AS(bnorm::read_stored_state(*archive, "bn1"),
                       "m.safetensors: no state tensor is under the prefix 'bn1.', and 2 layers "
                       "are under it in wrappers: 'model.bn1.', 'module.bn1.'; the prefix must "
                       "name one",
                       data_error);
}

TEST_CASE("a wrong prefix lists the first 8 prefixes of a batch-norm layer and their count") {
  std::vector<bnorm::named_tensor> tensors;
  for (int i = 0; i < 10; ++i) {
    // Appended, not "l" + ...: GCC 12 warns falsely about the latter (-Wrestrict, PR 105651).
    std::string prefix(1, 'l');
    prefix.append(std::to_string(i)).push_back('.');
    for (auto& t : layer_under(prefix, i)) tensors.push_back(std::move(t));
  }
  tensors.push_back(vector_of("keras.moving_mean", {1}));
  tensors.push_back(vector_of("keras.moving_variance", {1}));
  tensors.push_back(vector_of("half.running_mean", {1}));  // no running_var: not a layer
  const auto archive = archive_of(std::move(tensors));
  CHECK_THROWS_WITH_AS(
      bnorm::read_stored_state(*archive, "x."),
      doctest::Contains("under the prefix 'x.'; prefixes of a batch-norm layer (running_mean and "
                        "running_var), 8 of 11: "),
      data_error);
}

TEST_CASE("read_stored_state gives each value's name and type in the file") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(typed("module.bn.gamma", dtype::float16(), {2}));
  tensors.push_back(typed("module.bn.running_mean", dtype::float32(), {1}));
  tensors.push_back(typed("module.bn.moving_variance", dtype::float64(), {3}));
  const auto archive = archive_of(std::move(tensors));
  const bnorm::stored_state stored = bnorm::read_stored_state(*archive, "bn.");
  REQUIRE(stored.entries.size() == 3);
  CHECK(stored.entries[0].value == "weight");
  CHECK(stored.entries[0].name == "module.bn.gamma");
  CHECK(stored.entries[0].type == dtype::float16());
  CHECK(stored.entries[1].name == "module.bn.running_mean");
  CHECK(stored.entries[2].value == "running_var");
  CHECK(stored.entries[2].type == dtype::float64());
}

TEST_CASE("state_tensors in place writes the stored names and types, and only what is stored") {
  bnorm::bn_state state;
  state.weight = {1.5};
  state.bias = {0.25};
  state.running_mean = {0.5};
  state.running_var = {2};
  state.num_batches_tracked = 300;
  const dtype int8{bnorm::scalar_kind::signed_int, 1, false};
  const dtype int16{bnorm::scalar_kind::signed_int, 2, false};
  const dtype int64{bnorm::scalar_kind::signed_int, 8, false};
  bnorm::stored_state stored;
  stored.prefix = "m.bn.";
  stored.entries = {{"running_mean", "m.bn.running_mean", dtype::float16(), {1}},
                    {"running_var", "m.bn.running_var", int16, {1}},
                    {"num_batches_tracked", "m.bn.num_batches_tracked", int16, {1, 1}}};
  const auto names_and_types = [](const std::vector<bnorm::named_tensor>& tensors) {
    std::vector<std::pair<std::string, dtype>> out;
    for (const auto& t : tensors) out.emplace_back(t.info.name, t.info.type);
    return out;
  };
  // No weight and bias, which the layer lacks (an affine=False module's keys stay its keys);
  // an integer statistic as float64; the counter in its own integer type while that holds it.
  CHECK(names_and_types(bnorm::state_tensors(state, true, true, {&stored, true, nullptr})) ==
        std::vector<std::pair<std::string, dtype>>{{"m.bn.running_mean", dtype::float16()},
                                                   {"m.bn.running_var", dtype::float64()},
                                                   {"m.bn.num_batches_tracked", int16}});
  CHECK(bnorm::state_tensors(state, true, true, {&stored, true, nullptr}).back().info.shape ==
        std::vector<std::size_t>{1, 1});
  stored.entries[2].type = int8;  // 300 does not fit
  CHECK(bnorm::state_tensors(state, true, true, {&stored, true, nullptr}).back().info.type ==
        int64);
  // Another file: PyTorch's names without the prefix, the stored types as the format holds them.
  const auto no_bfloat16 = [](dtype t) { return t == dtype::bfloat16() ? dtype::float32() : t; };
  stored.entries[0].type = dtype::bfloat16();
  stored.entries[1].type = {bnorm::scalar_kind::floating, 8, true};  // ">f8": written "<f8"
  CHECK(names_and_types(bnorm::state_tensors(state, false, true, {&stored, false, no_bfloat16})) ==
        std::vector<std::pair<std::string, dtype>>{{"running_mean", dtype::float32()},
                                                   {"running_var", dtype::float64()},
                                                   {"num_batches_tracked", int64}});
  // A layer in Keras's names keeps them, and gets no counter.
  stored.entries = {{"running_mean", "m.bn.moving_mean", dtype::float32(), {1}},
                    {"running_var", "m.bn.moving_variance", dtype::float32(), {1}}};
  CHECK(names_and_types(bnorm::state_tensors(state, true, true, {&stored, true, nullptr})) ==
        std::vector<std::pair<std::string, dtype>>{{"m.bn.moving_mean", dtype::float32()},
                                                   {"m.bn.moving_variance", dtype::float32()}});
  const auto counter = bnorm::state_tensors(state, false, true, {&stored, false, nullptr}).back();
  CHECK(counter.data == std::string("\x2c\x01\0\0\0\0\0\0", 8));
}

TEST_CASE("read_stored_state takes what the file says of the layer it found, under wrappers") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(vector_of("module.bn1.running_mean", {1, 2}));
  tensors.push_back(vector_of("module.bn1.running_var", {3, 4}));
  tensors.push_back(vector_of("bn2.running_mean", {5}));
  tensors.push_back(vector_of("bn2.running_var", {6}));
  const bnorm::layer_settings node{0.009999999776482582, 0.8999999761581421, "onnx", false};
  const bnorm_test::settings_archive archive(archive_of(std::move(tensors)),
                                             {{"module.bn1.", node}});
  // Asked without the wrapper and without the final dot: the settings of the layer found.
  const bnorm::stored_state stored = bnorm::read_stored_state(archive, "bn1");
  CHECK(stored.prefix == "module.bn1.");
  CHECK(archive.asked == std::vector<std::string>{"module.bn1."});
  REQUIRE(stored.settings.has_value());
  CHECK(stored.settings->epsilon == 0.009999999776482582);
  CHECK(stored.settings->momentum == 0.8999999761581421);
  CHECK(stored.settings->convention == "onnx");
  CHECK(stored.settings->training == false);
  // A layer the file says nothing of has no settings.
  CHECK_FALSE(bnorm::read_stored_state(archive, "bn2.").settings.has_value());
}
