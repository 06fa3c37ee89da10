// SPDX-License-Identifier: Apache-2.0
// Statistics of a dataset: many tensors measured as one batch, read in parallel, combined so
// that the result depends neither on the number of threads nor on how the work was shared.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "channel_stats.hpp"
#include "layout.hpp"
#include "progress.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// One member of a dataset, opened: its tensor, and how messages name it.
struct dataset_member {
  std::unique_ptr<tensor_source> source;
  std::string name;
};

/// Opens member `index` (called from any thread, each index once).
using member_opener = std::function<dataset_member(std::size_t index)>;

/// The per-sample estimator's figures per channel: the mean over samples of each sample's
/// mean, biased std and unbiased std.
struct per_sample_moments {
  std::uint64_t samples = 0;
  std::vector<double> mean, std, std_unbiased;
};

struct dataset_request {
  std::size_t members = 0;
  long long axis = 1;       ///< the channel axis, as bn_config's
  unsigned threads = 1;     ///< at most this many members are read at once
  bool per_sample = false;  ///< also compute per_sample_moments
  /// Told of one pass of `bytes` (the callers' measure: the members' sizes), advanced by each
  /// member's tensor bytes as it is folded; null: none.
  progress_observer* progress = nullptr;
  std::size_t bytes = 0;
};

struct dataset_statistics {
  std::size_t files = 0;
  tensor_info first;                      ///< the first member's
  channel_layout layout;                  ///< the first member's
  std::vector<channel_moments> channels;  ///< pooled over every value of every member
  per_sample_moments per_sample;          ///< with dataset_request::per_sample
};

/// The statistics of the members 0..members-1, combined in index order by a fixed pairwise
/// tree (whatever the threads), holding at most a few members' results at once.  Every
/// member must agree with the first on the channel count, the channel axis and the class of
/// its dtype (floating, integer, bool): a member that does not is named in a data_error, as
/// is the first (in index order) that fails to open or read.
dataset_statistics dataset_statistics_of(const dataset_request& request, const member_opener& open);

/// Combines per-member moments in index order by a binary counter: the same tree for the same
/// count, O(channels · log members) memory.
class moments_tree {
 public:
  void push(std::vector<channel_moments> member);
  /// Everything pushed, combined; empty when nothing was.
  std::vector<channel_moments> total() const;

 private:
  struct node {
    std::size_t level;
    std::vector<channel_moments> moments;
  };
  std::vector<node> stack_;
};

}  // namespace bnorm
