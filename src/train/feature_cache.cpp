// The frozen base's features, cached per training sample (see feature_cache.h).
#include "train/feature_cache.h"

#include "graph/graph.h"
#include "nn/model_access.h"

#include <convkit/util/error.h>

#include <map>

#include <cstring>

namespace convkit::train {

FeatureCache::FeatureCache(FrozenBase& frozen, nn::Model& full, std::int64_t samples,
                           std::int64_t batch, const std::string& backend,
                           std::vector<std::int32_t> labels)
    : frozen_(frozen),
      full_(full),
      base_plan_(frozen.base.compile_inference({.batch = batch, .backend = backend})),
      have_(std::size_t(samples), 0),
      missing_(samples),
      labels_(std::move(labels)) {
  const Shape f = frozen.base.output_shape(0);
  if (frozen.head.input_shape(0) != f)
    fail("feature cache: the base outputs {} per sample but the head takes {}", f.str(),
         frozen.head.input_shape(0).str());
  row_ = f.numel();
  std::vector<std::int64_t> dims{samples};
  dims.insert(dims.end(), f.dims().begin(), f.dims().end());
  features_ = Tensor::empty(Shape(dims));
  // Parameter name -> (value, gradient) views in each model.
  auto views = [](nn::Model& m) {
    std::map<std::string, std::pair<Tensor, Tensor>> out;
    const auto& graph = nn::ModelAccess::graph(m);
    const auto& store = nn::ModelAccess::params(m);
    for (std::size_t id = 0; id < graph.params().size(); ++id)
      out[graph.params()[id].name] = {store.value(graph::ParamId(id)),
                                      store.grad(graph::ParamId(id))};
    return out;
  };
  const auto head = views(frozen.head), whole = views(full);
  for (const auto& [name, hv] : head) {
    auto it = whole.find(name);
    if (it == whole.end())
      fail("feature cache: the head's parameter '{}' is not in the full model", name);
    if (it->second.first.shape() != hv.first.shape())
      fail("feature cache: '{}' is {} in the head, {} in the full model", name,
           hv.first.shape().str(), it->second.first.shape().str());
    pairs_.push_back({hv.first, hv.second, it->second.first, it->second.second});
  }
}

float FeatureCache::train_step(nn::Plan& head_plan, optim::Optimizer& optimizer) {
  head_plan.forward();
  head_plan.backward();
  for (const auto& p : pairs_) p.full_grad.copy_from(p.head_grad);
  optimizer.step(full_.parameter_block());
  for (const auto& p : pairs_) p.head_value.copy_from(p.full_value);
  return head_plan.loss();
}

void FeatureCache::features(const data::BatchView& batch, const Tensor& dst) {
  const std::int64_t b = batch.labels.numel();
  bool all = true;
  for (auto i : batch.indices) all = all && have_[std::size_t(i)];
  if (!all) {
    base_plan_.input().slice(0, b).copy_from(batch.images.slice(0, b));
    base_plan_.forward();
    const float* out = base_plan_.output().data<float>();
    for (std::int64_t k = 0; k < b; ++k) {
      const auto i = batch.indices[std::size_t(k)];
      if (have_[std::size_t(i)]) continue;
      std::memcpy(features_.data<float>() + i * row_, out + k * row_, std::size_t(row_) * 4);
      have_[std::size_t(i)] = 1;
      --missing_;
    }
  }
  float* d = dst.data<float>();
  for (std::int64_t k = 0; k < b; ++k)
    std::memcpy(d + k * row_, features_.data<float>() + batch.indices[std::size_t(k)] * row_,
                std::size_t(row_) * 4);
}

std::vector<std::int64_t> FeatureCache::missing() const {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < have_.size(); ++i)
    if (!have_[i]) out.push_back(std::int64_t(i));
  return out;
}

void FeatureCache::features(const data::BatchView& batch, std::span<const std::int64_t> indices) {
  const std::int64_t b = batch.labels.numel();
  base_plan_.input().slice(0, b).copy_from(batch.images.slice(0, b));
  base_plan_.forward();
  const float* out = base_plan_.output().data<float>();
  for (std::int64_t k = 0; k < b; ++k) {
    const auto i = indices[std::size_t(batch.indices[std::size_t(k)])];
    if (have_[std::size_t(i)]) continue;
    std::memcpy(features_.data<float>() + i * row_, out + k * row_, std::size_t(row_) * 4);
    have_[std::size_t(i)] = 1;
    --missing_;
  }
}

void FeatureCache::gather(std::span<const std::int64_t> indices, const Tensor& dst,
                          const Tensor& labels) const {
  float* d = dst.data<float>();
  std::int32_t* l = labels.data<std::int32_t>();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::memcpy(d + std::int64_t(k) * row_, features_.data<float>() + indices[k] * row_,
                std::size_t(row_) * 4);
    l[k] = labels_[std::size_t(indices[k])];
  }
}

void FeatureCache::from_full_model() const {
  for (const auto& p : pairs_) p.head_value.copy_from(p.full_value);
}

}  // namespace convkit::train
