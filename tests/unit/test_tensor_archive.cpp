// Picking a tensor out of a container, and the one-tensor sinks' names and types.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "tensor_archive.hpp"
#include "test_support.hpp"

using bnorm::dtype;
using bnorm::tensor_format;

namespace {

void write_one(const std::string& path, tensor_format format, bnorm::tensor_info info,
               const std::vector<double>& values) {
  bnorm::output_file out(path);
  const auto sink = bnorm::make_sink(out, format, std::move(info));
  sink->write_at(0, values);
  sink->finish();
  out.commit();
}

}  // namespace

TEST_CASE("open_archive_tensor picks by name, or the only tensor, and lists names otherwise") {
  bnorm_test::temp_dir dir;
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, "a"}, {1}));
  tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {2}, false, "b"}, {2, 3}));
  const std::string path = dir.file("two.npz");
  {
    bnorm::output_file out(path);
    bnorm::write_archive(out, tensor_format::npz, std::move(tensors));
    out.commit();
  }
  const auto archive = bnorm::open_archive(path, tensor_format::npz);
  CHECK(bnorm::open_archive_tensor(*archive, "b")->info().shape == std::vector<std::size_t>{2});
  CHECK_THROWS_WITH_AS(bnorm::open_archive_tensor(*archive, ""),
                       (path + " holds 2 tensors ('a', 'b'): pick one with --tensor NAME").c_str(),
                       bnorm::usage_error);
  CHECK_THROWS_WITH_AS(bnorm::open_archive_tensor(*archive, "c"),
                       (path + " has no tensor 'c' (it has 'a', 'b')").c_str(), bnorm::usage_error);
  CHECK_THROWS_AS(bnorm::open_tensor(dir.file("x.npy"), tensor_format::npy, "a"),
                  bnorm::usage_error);
}

TEST_CASE("one-tensor sinks name the tensor after the input, else x; .npz has no bfloat16") {
  bnorm_test::temp_dir dir;
  write_one(dir.file("a.npz"), tensor_format::npz, {dtype::bfloat16(), {2}, false, "in"},
            {1.5, -2});
  write_one(dir.file("b.safetensors"), tensor_format::safetensors, {dtype::bfloat16(), {2}, false},
            {1.5, -2});
  const auto npz = bnorm::open_tensor(dir.file("a.npz"), tensor_format::npz);
  CHECK(npz->info().name == "in");
  CHECK(npz->info().type == dtype::float32());
  const auto st = bnorm::open_tensor(dir.file("b.safetensors"), tensor_format::safetensors);
  CHECK(st->info().name == "x");
  CHECK(st->info().type == dtype::bfloat16());
  std::vector<double> values(2);
  st->read_at(0, values);
  CHECK(values == std::vector<double>{1.5, -2});
}
