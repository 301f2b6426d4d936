// WeightAverage: an exponential moving average (EMA) of a model's weights, kept beside the
// weights the optimizer moves. After every step avg = d*avg + (1-d)*w over the whole flat
// parameter block (batch-norm running statistics included), with TensorFlow's warm-up
// d = min(decay, (1 + t) / (10 + t)) at step t so the average is not dominated by the random
// initialization. The averaged weights usually generalize better than the last ones; the
// Trainer validates and checkpoints them and leaves them in the model when fit() ends.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstdint>

namespace convkit::train {

class WeightAverage {
 public:
  // decay in [0, 1); 0 disables averaging (every call is then a no-op).
  explicit WeightAverage(double decay = 0);

  bool enabled() const { return decay_ > 0; }
  double decay() const { return decay_; }
  // The decay used at step t (1-based count of completed optimizer steps).
  double decay_at(std::int64_t step) const;

  // Starts the average from the current weights (n floats).
  void reset(const float* weights, std::int64_t n);
  // avg = d*avg + (1-d)*w with d = decay_at(step). Starts from `weights` when never reset.
  void update(const float* weights, std::int64_t n, std::int64_t step);
  // Exchanges the average and the weights in place (call twice to undo).
  void swap(float* weights, std::int64_t n);
  // The averaged weights, f32 [n]; undefined before reset/update.
  const Tensor& average() const { return average_; }

 private:
  double decay_;
  Tensor average_;
  void check_size(std::int64_t n) const;
};

}  // namespace convkit::train
