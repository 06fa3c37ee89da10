// SPDX-License-Identifier: Apache-2.0
#include "dataset_stats.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "error.hpp"

using namespace bnorm;

namespace {

// A tensor held as doubles, as a codec's source gives it.
class vector_source : public tensor_source {
 public:
  vector_source(tensor_info info, std::vector<double> values)
      : info_(std::move(info)), values_(std::move(values)) {}
  const tensor_info& info() const override { return info_; }
  void read_at(std::size_t first, std::span<double> out) const override {
    std::memcpy(out.data(), values_.data() + first, out.size() * sizeof(double));
  }

 private:
  tensor_info info_;
  std::vector<double> values_;
};

// Member i: a (1 + i % 5, 3, 7) float32 batch of values far from 0, so that the rounding of
// every combination shows in the last bits.
dataset_member make_member(std::size_t i) {
  tensor_info info;
  info.type = dtype::float32();
  info.shape = {1 + i % 5, 3, 7};
  std::mt19937_64 rng(i);
  std::normal_distribution<double> normal(1e4 * static_cast<double>(i % 3),
                                          1.0 + static_cast<double>(i));
  std::vector<double> values(info.element_count());
  for (double& v : values) v = static_cast<double>(static_cast<float>(normal(rng)));
  std::string name = "m";  // built in steps: GCC 12 warns (-Wrestrict) on "m" + to_string
  name += std::to_string(i);
  return {std::make_unique<vector_source>(info, std::move(values)), name};
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("a dataset's statistics are the same bits on any number of threads") {
  dataset_request request;
  request.members = 37;
  request.per_sample = true;
  request.threads = 1;
  const dataset_statistics one = dataset_statistics_of(request, make_member);
  for (unsigned threads : {2u, 3u, 8u}) {
    request.threads = threads;
    const dataset_statistics many = dataset_statistics_of(request, make_member);
    REQUIRE(many.channels.size() == 3);
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(same_bits(many.channels[c].mean, one.channels[c].mean));
      CHECK(same_bits(many.channels[c].m2, one.channels[c].m2));
      CHECK(many.channels[c].count == one.channels[c].count);
      CHECK(same_bits(many.per_sample.std[c], one.per_sample.std[c]));
    }
  }
}

TEST_CASE("the first member in index order that fails is the one reported, whatever the threads") {
  for (unsigned threads : {1u, 2u, 4u}) {
    dataset_request request;
    request.members = 40;
    request.threads = threads;
    const auto open = [](std::size_t i) {
      if (i == 31) throw data_error("m31: unreadable");
      if (i == 17) {
        dataset_member m = make_member(i);
        tensor_info info = m.source->info();
        info.shape[1] = 4;
        return dataset_member{
            std::make_unique<vector_source>(info, std::vector<double>(info.element_count())),
            m.name};
      }
      return make_member(i);
    };
    CHECK_THROWS_WITH_AS(dataset_statistics_of(request, open), "m17: 4 channels, but m0 has 3",
                         data_error);
  }
}

TEST_CASE("moments_tree combines the same way for the same count") {
  // Three members pushed: ((0, 1), 2); the total equals merging them in that grouping.
  std::vector<channel_moments> parts;
  moments_tree tree;
  for (int i = 0; i < 3; ++i) {
    channel_moments m;
    m.count = 1 + i;
    m.mean = 0.1 * (i + 1);
    m.m2 = 0.3 * i;
    parts.push_back(m);
    tree.push({m});
  }
  const channel_moments expected = merge(merge(parts[0], parts[1]), parts[2]);
  const std::vector<channel_moments> total = tree.total();
  REQUIRE(total.size() == 1);
  CHECK(same_bits(total[0].mean, expected.mean));
  CHECK(same_bits(total[0].m2, expected.m2));
  CHECK(moments_tree().total().empty());
}
