// A Source wrapper that counts the images it is asked for (tests of caches: the decoded cache,
// the feature cache).
#pragma once

#include <convkit/data/source.h>

#include <atomic>
#include <memory>

namespace convkit::test {

class CountingSource final : public data::Source {
 public:
  explicit CountingSource(std::shared_ptr<const data::Source> base) : base_(std::move(base)) {
    name_ = base_->name();
    class_names_ = base_->class_names();
  }
  std::int64_t size() const override { return base_->size(); }
  std::int32_t label(std::int64_t i) const override { return base_->label(i); }
  Tensor image(std::int64_t i) const override {
    ++reads;
    return base_->image(i);
  }
  std::string sample_name(std::int64_t i) const override { return base_->sample_name(i); }
  mutable std::atomic<int> reads{0};

 private:
  std::shared_ptr<const data::Source> base_;
};

}  // namespace convkit::test
