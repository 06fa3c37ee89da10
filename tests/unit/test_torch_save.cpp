// SPDX-License-Identifier: Apache-2.0
// torch_save's writers against torch.save: the same tensors saved to a file of the same base
// name give the same bytes (goldens from make_torch_save_goldens.py).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "formats/byte_source.hpp"
#include "formats/pickle.hpp"
#include "formats/torch_checkpoint.hpp"
#include "formats/torch_save.hpp"
#include "test_support.hpp"
#include "torch_save_goldens.inc"

namespace {

constexpr bnorm::dtype int64_type{bnorm::scalar_kind::signed_int, 8, false};

// The golden script's values: element i is i/2 - 3.
std::vector<double> golden_values(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i) / 2 - 3;
  return v;
}

bnorm::tensor_info info_of(std::string name, std::vector<std::size_t> shape, bnorm::dtype type,
                           bool fortran = false) {
  bnorm::tensor_info info;
  info.name = std::move(name);
  info.shape = std::move(shape);
  info.type = type;
  info.fortran_order = fortran;
  return info;
}

bnorm::named_tensor golden_tensor(bnorm::tensor_info info) {
  const std::size_t n = info.element_count();
  return bnorm::make_named_tensor(std::move(info), golden_values(n));
}

std::string written_set(const std::string& file, std::vector<bnorm::named_tensor> tensors) {
  bnorm_test::temp_dir dir;
  {
    bnorm::output_file out(dir.file(file));
    bnorm::write_torch_set(out, std::move(tensors));
    out.commit();
  }
  return bnorm_test::read_bytes(dir.file(file));
}

// Writes one tensor through make_torch_sink, in ranges from the end back, as a parallel
// writer may; to a FIFO (a stream) when `stream`.
std::string written_by_sink(const bnorm::tensor_info& info, bool stream) {
  bnorm_test::temp_dir dir;
  const std::string path = dir.file("bn.pt");
  std::string read;
  std::thread reader;
  if (stream) {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    reader = std::thread([&] {
      const int fd = ::open(path.c_str(), O_RDONLY);
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        read.append(buffer, static_cast<std::size_t>(n));
      ::close(fd);
    });
  }
  {
    bnorm::output_file out(path);
    auto sink = bnorm::make_torch_sink(out, info);
    const std::vector<double> values = golden_values(info.element_count());
    if (sink->parallel()) {
      for (std::size_t end = values.size(); end > 0;) {
        const std::size_t first = end >= 2 ? end - 2 : 0;
        sink->write_at(first, std::span<const double>(values).subspan(first, end - first));
        end = first;
      }
    } else {
      sink->write_at(0, values);
    }
    sink->finish();
    out.commit();
  }
  if (stream) {
    reader.join();
    return read;
  }
  return bnorm_test::read_bytes(path);
}

}  // namespace

TEST_CASE("write_torch_set writes a state_dict byte for byte as torch.save does") {
  std::vector<bnorm::named_tensor> tensors;
  for (const char* name : {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"})
    tensors.push_back(golden_tensor(info_of(name, {3}, bnorm::dtype::float32())));
  tensors.push_back(
      bnorm::make_named_tensor(info_of("bn1.num_batches_tracked", {}, int64_type), {7}));
  CHECK(bnorm_test::hex(written_set("bn.pt", std::move(tensors))) ==
        torch_save_goldens::archive_state);
}

TEST_CASE("write_torch_set: every dtype, empty and scalar shapes, Fortran order, key order") {
  const bnorm::dtype f16 = bnorm::dtype::float16();
  const bnorm::dtype f32 = bnorm::dtype::float32();
  const bnorm::dtype f64 = bnorm::dtype::float64();
  const bnorm::dtype bf16 = bnorm::dtype::bfloat16();
  const std::vector<std::pair<std::vector<std::size_t>, bnorm::dtype>> kinds{
      {{2, 3}, f32},          {{}, f64},  {{0}, f32},     {{2, 0, 3}, f16}, {{4}, bf16},
      {{1, 2, 1, 2, 1}, f64}, {{5}, f16}, {{3, 1}, bf16}, {{2}, f32},       {{}, int64_type},
      {{3}, int64_type}};
  std::vector<bnorm::named_tensor> tensors;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    std::string name = "t";  // not "t" + ...: GCC 12 warns falsely (-Wrestrict, PR 105651)
    name += std::to_string(i);
    auto info = info_of(std::move(name), kinds[i].first, kinds[i].second);
    tensors.push_back(golden_tensor(std::move(info)));
  }
  // torch's (3, 2) tensor transposed: (2, 3) with its elements in Fortran order.
  tensors.push_back(golden_tensor(info_of("fortran", {2, 3}, f32, true)));
  CHECK(bnorm_test::hex(written_set("bn.pt", std::move(tensors))) ==
        torch_save_goldens::archive_mixed);
}

TEST_CASE("make_torch_sink writes torch.save(t), or torch.save({name: t}), in place or held") {
  for (const bool stream : {false, true}) {
    CAPTURE(stream);
    CHECK(bnorm_test::hex(written_by_sink(info_of("", {2, 3}, bnorm::dtype::float32()), stream)) ==
          torch_save_goldens::archive_single);
    CHECK(bnorm_test::hex(written_by_sink(info_of("x", {4}, bnorm::dtype::float64()), stream)) ==
          torch_save_goldens::archive_named);
  }
}

TEST_CASE("the records' folder is the file's base name less its extension, as torch names it") {
  const auto folder_of = [](const std::string& file) {
    std::vector<bnorm::named_tensor> tensors;
    tensors.push_back(golden_tensor(info_of("a", {1}, bnorm::dtype::float32())));
    const std::string bytes = written_set(file, std::move(tensors));
    const std::size_t name_size = static_cast<unsigned char>(bytes[26]);
    const std::string first = bytes.substr(30, name_size);
    return first.substr(0, first.size() - std::string("/data.pkl").size());
  };
  CHECK(folder_of("model.pt") == "model");
  CHECK(folder_of("a.b.pth") == "a.b");
  CHECK(folder_of("noext") == "noext");
  CHECK(folder_of("x.") == "x");
  // torch refuses ".pt" and writes "./data.pkl" for "..pt", which ZIP readers take two ways.
  CHECK(folder_of(".pt") == "archive");
  CHECK(folder_of("..pt") == "archive");
}

namespace {

std::vector<bnorm::named_tensor> replacements(bool add) {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(golden_tensor(info_of("running_mean", {3}, bnorm::dtype::float64())));
  tensors.push_back(golden_tensor(info_of("running_var", {3}, bnorm::dtype::float32())));
  if (add) tensors.push_back(golden_tensor(info_of("extra", {2}, bnorm::dtype::float16())));
  return tensors;
}

std::string updated(const bnorm_test::temp_dir& dir, std::string_view original_hex, bool add) {
  std::string original;
  for (std::size_t i = 0; i < original_hex.size(); i += 2)
    original += static_cast<char>(std::stoi(std::string(original_hex.substr(i, 2)), nullptr, 16));
  bnorm_test::write_bytes(dir.file("bn.pt"), original);
  {
    bnorm::output_file out(dir.file("new.pt"));
    bnorm::update_torch_set(std::make_unique<bnorm::input_file>(dir.file("bn.pt")), out,
                            replacements(add));
    out.commit();
  }
  return bnorm_test::read_bytes(dir.file("new.pt"));
}

}  // namespace

TEST_CASE("update_torch_set writes what torch.save writes for the updated checkpoint") {
  // Optimizer state, an epoch, a float, a big int and _metadata around the state_dict: all
  // re-pickled as torch.save pickles them, the kept storages' records copied unchanged.
  bnorm_test::temp_dir dir;
  CHECK(bnorm_test::hex(updated(dir, torch_save_goldens::archive_checkpoint, true)) ==
        torch_save_goldens::archive_checkpoint_updated);
}

TEST_CASE("update_torch_set keeps a storage another tensor still views, drops one nobody does") {
  bnorm_test::temp_dir dir;
  updated(dir, torch_save_goldens::archive_checkpoint_view, false);
  const bnorm::torch_checkpoint before(bnorm::byte_source::open(dir.file("bn.pt")));
  const bnorm::torch_checkpoint after(bnorm::byte_source::open(dir.file("new.pt")));
  CHECK(after.folder() == "bn");  // the original's, not the new file's name
  // Seven storages: two momentum buffers, weight, bias, running_mean, running_var and the
  // counter; running_var's is dropped, running_mean's kept for the view, two new ones.
  const auto records = [](const bnorm::torch_checkpoint& c) {
    std::size_t n = 0;
    for (const bnorm::zip_member& m : c.zip().members()) n += m.name.starts_with("bn/data/");
    return n;
  };
  CHECK(records(before) == 7);
  CHECK(records(after) == 8);
  const auto entry = [](const bnorm::pickle::value& dict, const std::string& key) {
    for (const auto& [k, v] : dict.entries)
      if (k->text == key) return v;
    FAIL("no entry " << key);
    return bnorm::pickle::value_ptr();
  };
  const auto values = [](const bnorm::torch_checkpoint& c, const bnorm::pickle::tensor& t) {
    const bnorm::zip_member& m = c.record(*t.data);
    const bnorm::dtype type = c.element_type(*t.data);
    std::string bytes = c.zip().bytes()->read_string(m.data_offset, m.uncompressed_size);
    std::vector<double> v(t.data->numel);
    bnorm::decode(type, reinterpret_cast<const std::byte*>(bytes.data()), v.size(), v.data());
    return std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(t.offset), v.end());
  };
  const auto& view = entry(*entry(*after.root(), "extras"), "view")->tensor;
  CHECK(view.offset == 1);
  CHECK(values(after, view) ==
        values(before, entry(*entry(*before.root(), "extras"), "view")->tensor));
  CHECK(values(after, view).size() == 2);
  const auto& state = *entry(*after.root(), "state_dict");
  const auto& mean = entry(state, "running_mean")->tensor;
  CHECK(after.element_type(*mean.data) == bnorm::dtype::float64());
  CHECK(values(after, mean) == golden_values(3));
  CHECK(after.element_type(*entry(state, "running_var")->tensor.data) == bnorm::dtype::float32());
  // Every other tensor keeps its record's bytes.
  for (const char* name : {"weight", "bias", "num_batches_tracked"}) {
    CAPTURE(name);
    CHECK(values(after, entry(state, name)->tensor) ==
          values(before, entry(*before.tensors(), name)->tensor));
  }
  CHECK(entry(*after.root(), "epoch")->integer == 3);
  CHECK(entry(*after.root(), "note")->text == "kept");
}

TEST_CASE("a type torch has no storage for is refused before anything is written") {
  bnorm_test::temp_dir dir;
  bnorm::output_file out(dir.file("bn.pt"));
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(golden_tensor(info_of("ok", {2}, bnorm::dtype::float32())));
  bnorm::named_tensor odd;
  odd.info = info_of("odd", {2}, bnorm::dtype{bnorm::scalar_kind::unsigned_int, 2, false});
  odd.data.resize(4);
  tensors.push_back(std::move(odd));
  CHECK_THROWS_WITH_AS(
      bnorm::write_torch_set(out, std::move(tensors)),
      (dir.file("bn.pt") + ": tensor 'odd': torch has no storage for uint16").c_str(),
      bnorm::data_error);
}
