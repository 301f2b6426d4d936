// Evaluation of checkpoints and ensembles (see evaluate.h).
#include <convkit/run/evaluate.h>

#include <convkit/run/datasets.h>
#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>
#include <convkit/run/tta.h>
#include <convkit/train/predictor.h>

#include <fmt/format.h>

#include <optional>

namespace convkit::run {

Evaluation evaluate(const std::vector<std::filesystem::path>& checkpoints,
                    const EvaluateOptions& options) {
  if (checkpoints.empty()) config_fail("evaluate: no checkpoint given");
  if (options.split != "test" && options.split != "train")
    config_fail("evaluate: the split must be test or train, got '{}'", options.split);
  std::optional<RunInfo> info;
  std::optional<LoadedData> data;
  Tensor sum;
  for (const auto& path : checkpoints) {
    OpenedCheckpoint member = open_checkpoint(path);
    if (!info) {
      info = member.info;
      data = load_data_of_run(*info, options.data_dir);
    } else if (member.info.dataset != info->dataset ||
               member.info.class_names.size() != info->class_names.size()) {
      throw DataError(
          fmt::format("{}: trained on {} ({} classes), but {} was trained on {} ({} classes)",
                      path.string(), member.info.dataset, member.info.class_names.size(),
                      checkpoints[0].string(), info->dataset, info->class_names.size()));
    }
    const data::Dataset& dataset = options.split == "train" ? data->train_in_memory() : data->test;
    train::Predictor predictor(std::move(member.checkpoint.model), member.info.preprocess,
                               member.info.class_names, {.batch_size = options.batch_size});
    Tensor p = predict_with_tta(predictor, dataset, options.tta);
    if (!sum.defined()) sum = Tensor::zeros(p.shape());
    if (p.shape() != sum.shape())
      throw DataError(fmt::format("{}: the model outputs {} values per image, the ensemble {}",
                                  path.string(), p.dim(1), sum.dim(1)));
    float* s = sum.data<float>();
    const float* q = p.data<float>();
    for (std::int64_t i = 0; i < p.numel(); ++i) s[i] += q[i];
  }
  float* s = sum.data<float>();
  for (std::int64_t i = 0; i < sum.numel(); ++i) s[i] /= float(checkpoints.size());
  const data::Dataset& dataset = options.split == "train" ? data->train_in_memory() : data->test;
  return {info->dataset, info->class_names, train::report_from_probabilities(sum, dataset.labels)};
}

}  // namespace convkit::run
