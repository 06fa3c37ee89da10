// SPDX-License-Identifier: Apache-2.0
// Picking a tensor out of a container, and the one-tensor sinks' names and types.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/registry.hpp"
#include "test_support.hpp"

using bnorm::dtype;

namespace {

void write_one(const std::string& path, const bnorm::codec* format, bnorm::tensor_info info,
               const std::vector<double>& values) {
  bnorm::output_file out(path);
  const auto sink = format->make_sink(out, std::move(info));
  sink->write_at(0, values);
  sink->finish();
  out.commit();
}

}  // namespace

TEST_CASE("pick_tensor picks by name, or the only tensor, and lists names otherwise") {
  bnorm_test::temp_dir dir;
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, "a"}, {1}));
  tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {2}, false, "b"}, {2, 3}));
  const std::string path = dir.file("two.npz");
  {
    bnorm::output_file out(path);
    bnorm::codec_named("npz")->write_set(out, std::move(tensors));
    out.commit();
  }
  const auto archive = bnorm::open_tensor_file(path, bnorm::codec_named("npz"));
  CHECK(bnorm::pick_tensor(*archive, "b")->info().shape == std::vector<std::size_t>{2});
  CHECK_THROWS_WITH_AS(bnorm::pick_tensor(*archive, ""),
                       (path + " holds 2 tensors ('a', 'b'): pick one").c_str(),
                       bnorm::usage_error);
  CHECK_THROWS_WITH_AS(bnorm::pick_tensor(*archive, "c"),
                       (path + " has no tensor 'c' (it has 'a', 'b')").c_str(), bnorm::usage_error);
  {
    bnorm::output_file out(dir.file("x.npy"));
    bnorm::codec_named("npy")->make_sink(out, {dtype::float32(), {1}, false})->write_at(0, {{1.0}});
    out.commit();
  }
  CHECK_THROWS_WITH_AS(bnorm::open_tensor(dir.file("x.npy"), nullptr, "a"),
                       (dir.file("x.npy") + " holds one unnamed tensor, not 'a'").c_str(),
                       bnorm::usage_error);
}

TEST_CASE("one-tensor sinks name the tensor after the input, else x; .npz has no bfloat16") {
  bnorm_test::temp_dir dir;
  write_one(dir.file("a.npz"), bnorm::codec_named("npz"), {dtype::bfloat16(), {2}, false, "in"},
            {1.5, -2});
  write_one(dir.file("b.safetensors"), bnorm::codec_named("safetensors"),
            {dtype::bfloat16(), {2}, false}, {1.5, -2});
  const auto npz = bnorm::open_tensor(dir.file("a.npz"), bnorm::codec_named("npz"));
  CHECK(npz->info().name == "in");
  CHECK(npz->info().type == dtype::float32());
  const auto st = bnorm::open_tensor(dir.file("b.safetensors"), bnorm::codec_named("safetensors"));
  CHECK(st->info().name == "x");
  CHECK(st->info().type == dtype::bfloat16());
  std::vector<double> values(2);
  st->read_at(0, values);
  CHECK(values == std::vector<double>{1.5, -2});
}
