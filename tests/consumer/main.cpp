// SPDX-License-Identifier: Apache-2.0
// Uses bnorm's installed library on the tensors of a folder (made by tests/cli/test_library.py)
// and prints every number it computes as "key: values", for the test to check against torch.
#include <bnorm/bnorm.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>
#include <xtensor/xtensor.hpp>

namespace {

void print(const std::string& key, const std::vector<double>& values) {
  std::printf("%s:", key.c_str());
  for (double v : values) std::printf(" %.17g", v);
  std::printf("\n");
}

template <class T>
void print(const std::string& key, const bnorm::array<T>& values) {
  std::vector<double> out;
  for (const T& v : values) out.push_back(static_cast<double>(v));
  print(key, out);
}

void print(const std::string& key, const bnorm::step_result& r) {
  print(key + ".running_mean", r.state.running_mean);
  print(key + ".running_var", r.state.running_var);
  print(key + ".num_batches_tracked", {static_cast<double>(r.state.num_batches_tracked)});
  std::vector<double> mean, var;
  for (const bnorm::channel_statistics& c : r.batch) {
    mean.push_back(c.mean);
    var.push_back(c.var);
  }
  print(key + ".batch_mean", mean);
  print(key + ".batch_var", var);
}

void print(const std::string& key, const std::vector<bnorm::channel_statistics>& channels) {
  std::vector<double> count, mean, var, var_unbiased;
  for (const bnorm::channel_statistics& c : channels) {
    count.push_back(static_cast<double>(c.count));
    mean.push_back(c.mean);
    var.push_back(c.var);
    var_unbiased.push_back(c.var_unbiased);
  }
  print(key + ".count", count);
  print(key + ".mean", mean);
  print(key + ".var", var);
  print(key + ".var_unbiased", var_unbiased);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer FOLDER\n";
    return 2;
  }
  const std::string dir = argv[1];
  std::printf("version: %s %s\n", std::string(bnorm::version()).c_str(), BNORM_VERSION_STRING);

  // Named tensors: the state of a layer, in an .npz.
  const bnorm::tensor_file state_file(dir + "/state.npz");
  std::printf("state.format: %s\n", state_file.format().c_str());
  for (const bnorm::tensor_entry& t : state_file.tensors()) {
    std::printf("state.tensor: %s %s %zu\n", t.name.c_str(), t.dtype.c_str(), t.shape.at(0));
  }
  bnorm::layer_state state;
  const auto vec = [&](const std::string& name) {
    const xt::xarray<double> a = state_file.read<double>(name);
    return std::vector<double>(a.begin(), a.end());
  };
  state.weight = vec("weight");
  state.bias = vec("bias");
  state.running_mean = vec("running_mean");
  state.running_var = vec("running_var");

  // In memory, float32, train mode, torch.
  const xt::xarray<float> x32 = bnorm::tensor_file(dir + "/x32.npy").read<float>();
  const bnorm::normalized<float> train32 = bnorm::normalize(x32, {}, state);
  print("train32.output", train32.output);
  print("train32", train32);

  // float64 in eval mode, from an xt::xtensor.
  const xt::xtensor<double, 4> x64 = bnorm::tensor_file(dir + "/x64.npy").read<double>();
  bnorm::options eval;
  eval.mode = bnorm::mode::eval;
  const bnorm::normalized<double> eval64 = bnorm::normalize(x64, eval, state);
  print("eval64.output", eval64.output);

  // float16 in train mode.
  const xt::xarray<bnorm::half> x16 = bnorm::tensor_file(dir + "/x16.npy").read<bnorm::half>();
  const bnorm::normalized<bnorm::half> train16 = bnorm::normalize(x16, {}, state);
  print("train16.output", train16.output);
  print("train16", train16);

  // Keras, channels last: its eps, momentum 0.99 of the old value, biased running variance.
  const xt::xarray<float> nhwc = bnorm::tensor_file(dir + "/nhwc.npy").read<float>();
  bnorm::options keras;
  keras.framework = bnorm::framework::keras;
  const bnorm::normalized<float> train_keras = bnorm::normalize(nhwc, keras, state);
  print("keras.output", train_keras.output);
  print("keras", train_keras);

  // Every framework, train and eval, each type, channels on axis 1 (the state's 3): the test
  // checks each against `bnorm apply --convention`.
  const char* const frameworks[] = {"torch", "keras", "onnx", "tf-fused", "caffe", "flax"};
  for (int f = 0; f < 6; ++f) {
    for (const bnorm::mode m : {bnorm::mode::train, bnorm::mode::eval}) {
      bnorm::options o;
      o.framework = static_cast<bnorm::framework>(f);
      o.mode = m;
      o.axis = 1;
      const std::string key =
          std::string(frameworks[f]) + (m == bnorm::mode::train ? ".train" : ".eval");
      const bnorm::normalized<float> r32 = bnorm::normalize(x32, o, state);
      print(key + ".float32.output", r32.output);
      print(key + ".float32", r32);
      print(key + ".float64.output", bnorm::normalize(x64, o, state).output);
      print(key + ".float16.output", bnorm::normalize(x16, o, state).output);
    }
  }

  // Streaming: a file to a file, and a file's statistics.
  print("apply", bnorm::apply_file(dir + "/x32.npy", dir + "/applied.npy", {}, state));
  print("stats", bnorm::file_statistics(dir + "/x32.npy"));

  // Two shards measured apart, merged.
  const std::string merged =
      bnorm::merge_statistics({bnorm::partial_statistics(dir + "/shard1.npy"),
                               bnorm::partial_statistics(dir + "/shard2.npy")});
  print("merged", bnorm::read_partial_statistics(merged));

  // Errors are bnorm::error's subclasses.
  try {
    bnorm::normalize(x32, eval);
  } catch (const bnorm::usage_error& e) {
    std::printf("usage_error: %s\n", e.what());
  }
  try {
    bnorm::tensor_file missing(dir + "/missing.npy");
  } catch (const bnorm::io_error& e) {
    std::printf("io_error: %s\n", e.what());
  }
  return 0;
}
