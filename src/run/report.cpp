// Writing a run's HTML report (see report.h).
#include <convkit/run/report.h>

#include <convkit/report/report.h>
#include <convkit/run/config.h>
#include <convkit/run/datasets.h>
#include <convkit/run/errors.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>

namespace convkit::run {

namespace fs = std::filesystem;

void write_report(const fs::path& run_dir, nn::Model& model, const data::Dataset& test,
                  const train::Preprocess& preprocess, const std::vector<std::string>& class_names,
                  const fs::path& out, const Tensor& probabilities) {
  const auto data = report::collect_report_data(run_dir, model, test, preprocess, class_names,
                                                {.probabilities = probabilities});
  write_text_atomic(out.empty() ? RunDirectory{run_dir}.report() : out,
                    report::render_report(data));
}

fs::path write_run_report(const fs::path& run_dir, const std::string& data_dir,
                          const fs::path& out) {
  const RunDirectory dir{run_dir};
  if (!fs::is_regular_file(dir.best_checkpoint()))
    throw DataError(fmt::format("{}: no checkpoint; is {} a run directory of `convkit train`?",
                                dir.best_checkpoint().string(), run_dir.string()));
  OpenedCheckpoint opened = open_checkpoint(dir.best_checkpoint());
  // The same test part as the run (its stored config: subsets, image sizes).
  LoadedData data = load_data_of_run(opened.info, data_dir);
  const fs::path target = out.empty() ? dir.report() : out;
  write_report(run_dir, opened.checkpoint.model, data.test, opened.info.preprocess,
               opened.info.class_names, target);
  return target;
}

}  // namespace convkit::run
