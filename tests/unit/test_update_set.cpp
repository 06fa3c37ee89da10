// SPDX-License-Identifier: Apache-2.0
// The codecs' update_set (and zip_writer under .npz's): the replaced tensors in their
// place, added ones after, and every other tensor's bytes as they were.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/codec.hpp"
#include "formats/npz.hpp"
#include "formats/registry.hpp"
#include "formats/zip_archive.hpp"
#include "test_support.hpp"

using bnorm::dtype;

namespace {

std::vector<bnorm::named_tensor> three_tensors() {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {3}, false, "a"}, {1, 2, 3}));
  tensors.push_back(bnorm::make_named_tensor({dtype::float16(), {2, 2}, true, "b"}, {1, 2, 3, 4}));
  tensors.push_back(
      bnorm::make_named_tensor({{bnorm::scalar_kind::signed_int, 8, false}, {}, false, "c"}, {7}));
  return tensors;
}

// Writes `original` as `path`, then updates it into `updated` with `replaced`.
void update(const bnorm::codec& format, const std::string& path, const std::string& updated,
            std::vector<bnorm::named_tensor> replaced) {
  bnorm::output_file out(updated);
  format.update_set(std::make_unique<bnorm::input_file>(path), out, std::move(replaced));
  out.commit();
}

std::vector<double> values_of(const bnorm::tensor_archive& archive, const std::string& name) {
  const auto source = archive.open(name);
  std::vector<double> values(source->info().element_count());
  source->read_at(0, values);
  return values;
}

// A member's stored bytes, local header excluded.
std::string member_data(const std::string& file, const std::string& member) {
  const bnorm::zip_archive zip(bnorm::byte_source::open(file));
  for (const bnorm::zip_member& m : zip.members()) {
    if (m.name == member) return zip.extract(m);
  }
  FAIL("no member " << member);
  return {};
}

}  // namespace

TEST_CASE("npz update_set replaces members in their place, adds after, copies the rest") {
  bnorm_test::temp_dir dir;
  const bnorm::codec& npz = *bnorm::codec_named("npz");
  {
    bnorm::output_file out(dir.file("m.npz"));
    bnorm::write_npz(out, three_tensors());
    out.commit();
  }
  std::vector<bnorm::named_tensor> replaced;
  replaced.push_back(bnorm::make_named_tensor({dtype::float64(), {2}, false, "b"}, {0.5, -1}));
  replaced.push_back(bnorm::make_named_tensor({dtype::float16(), {1}, false, "z"}, {3}));
  update(npz, dir.file("m.npz"), dir.file("u.npz"), std::move(replaced));
  const auto archive = bnorm::open_tensor_file(dir.file("u.npz"));
  CHECK(archive->names() == std::vector<std::string>{"a", "b", "c", "z"});
  CHECK(archive->open("b")->info().type == dtype::float64());
  CHECK(values_of(*archive, "b") == std::vector<double>{0.5, -1});
  CHECK(values_of(*archive, "z") == std::vector<double>{3});
  for (const char* kept : {"a.npy", "c.npy"}) {
    CHECK(member_data(dir.file("u.npz"), kept) == member_data(dir.file("m.npz"), kept));
  }
}

TEST_CASE("npz update_set refuses a corrupt member it copies, and a name np.load confuses") {
  bnorm_test::temp_dir dir;
  const bnorm::codec& npz = *bnorm::codec_named("npz");
  {
    bnorm::output_file out(dir.file("m.npz"));
    bnorm::write_npz(out, three_tensors());
    out.commit();
  }
  std::string bytes = bnorm_test::read_bytes(dir.file("m.npz"));
  const bnorm::zip_archive zip(bnorm::byte_source::from_memory("m.npz", bytes));
  bytes[zip.members()[0].data_offset + zip.members()[0].uncompressed_size - 1] ^= 1;
  bnorm_test::write_bytes(dir.file("bad.npz"), bytes);
  std::vector<bnorm::named_tensor> replaced;
  replaced.push_back(bnorm::make_named_tensor({dtype::float64(), {1}, false, "c"}, {1}));
  CHECK_THROWS_WITH_AS(update(npz, dir.file("bad.npz"), dir.file("u.npz"), replaced),
                       doctest::Contains("member 'a.npy' at byte"), bnorm::data_error);
  // "a.npy" would be member "a.npy.npy", which np.load reads for the key "a.npy"... and "a".
  replaced[0].info.name = "a.npy";
  CHECK_THROWS_WITH_AS(update(npz, dir.file("m.npz"), dir.file("u.npz"), replaced),
                       doctest::Contains("np.load reads the first"), bnorm::data_error);
}

TEST_CASE("safetensors update_set keeps the header's order, __metadata__ and other bytes") {
  bnorm_test::temp_dir dir;
  const bnorm::codec& safetensors = *bnorm::codec_named("safetensors");
  // b (F32, 2), a (I64, 1), in this order of data and of keys, after __metadata__.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  std::string data;
  for (const float f : {1.5f, -2.0f}) data.append(reinterpret_cast<const char*>(&f), 4);
  data.append("\x2a\0\0\0\0\0\0\0", 8);
  std::string length(8, '\0');
  length[0] = static_cast<char>(header.size());
  bnorm_test::write_bytes(dir.file("m.safetensors"), length + header + data);

  std::vector<bnorm::named_tensor> replaced;
  replaced.push_back(bnorm::make_named_tensor({dtype::float16(), {3}, false, "b"}, {1, 2, 4}));
  replaced.push_back(bnorm::make_named_tensor({dtype::bfloat16(), {1}, false, "c"}, {0.5}));
  update(safetensors, dir.file("m.safetensors"), dir.file("u.safetensors"), replaced);
  const std::string out = bnorm_test::read_bytes(dir.file("u.safetensors"));
  std::size_t size = 0;
  for (int i = 7; i >= 0; --i) size = size << 8 | static_cast<unsigned char>(out[i]);
  const std::string text = out.substr(8, size);
  CHECK(text.find(R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[3],)"
                  R"("data_offsets":[0,6]},"a":{"dtype":"I64","shape":[],"data_offsets":[6,14]},)"
                  R"("c":{"dtype":"BF16","shape":[1],"data_offsets":[14,16]}})") == 0);
  CHECK(out.substr(8 + size + 6, 8) == data.substr(8, 8));  // a's bytes, moved but the same
  const auto archive = bnorm::open_tensor_file(dir.file("u.safetensors"));
  CHECK(values_of(*archive, "b") == std::vector<double>{1, 2, 4});
  CHECK(values_of(*archive, "c") == std::vector<double>{0.5});
  CHECK(archive->open("a")->read_int64_at(0) == 42);

  replaced[1].info.name = "__metadata__";
  CHECK_THROWS_WITH_AS(
      update(safetensors, dir.file("m.safetensors"), dir.file("v.safetensors"), replaced),
      doctest::Contains("cannot be named __metadata__"), bnorm::data_error);
}
