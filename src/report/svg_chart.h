// Inline SVG charts for the HTML report: line charts (training curves) and the confusion-matrix
// heatmap. Plain strings, no scripts; every element is closed, numbers are printed with fixed
// precision, so the same input gives the same bytes. Internal header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convkit::report {

struct Series {
  std::string name;          // legend text, also the polyline's data-series attribute
  std::string color;         // any CSS color
  std::vector<double> x, y;  // same length; points with a non-finite y are left out
  bool dashed = false;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 560, height = 300;
  bool integer_x = true;  // x ticks on whole numbers (epochs)
};

// One <svg> with axes, grid lines, a legend, one <polyline class="series"> and one <circle>
// (with a <title> tooltip) per finite point of each series. Series without finite points are
// skipped; a chart with none says "no data".
std::string line_chart(const std::vector<Series>& series, const ChartOptions& options);

// Nicely rounded tick positions (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target_count = 5);

// confusion[true][predicted] as a K x K grid of <rect class="cell" data-true data-pred
// data-count> with the count written in each cell (when cells are large enough), rows labelled
// with the true class, columns with the predicted one. Diagonal cells are shaded blue by the
// row's recall, off-diagonal ones red by the fraction of the row they take.
std::string confusion_heatmap(const std::vector<std::vector<std::int64_t>>& confusion,
                              const std::vector<std::string>& class_names);

}  // namespace convkit::report
