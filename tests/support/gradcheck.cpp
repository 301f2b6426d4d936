// Finite-difference gradient checking for any op (see gradcheck.h).
#include "support/gradcheck.h"

#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <cmath>

namespace convkit::testing {

using ops::Mode;
using ops::TensorSpec;

Tensor random_normal(const Shape& shape, std::uint64_t seed, float stddev) {
  Tensor t = Tensor::empty(shape);
  fill_normal(t.data<float>(), t.numel(), derive_key(seed, "random_normal"), 0.0f, stddev);
  return t;
}

Tensor random_uniform(const Shape& shape, std::uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(shape);
  fill_uniform(t.data<float>(), t.numel(), derive_key(seed, "random_uniform"), lo, hi);
  return t;
}

namespace {

std::vector<TensorSpec> specs_of(const std::vector<Tensor>& ts) {
  std::vector<TensorSpec> specs;
  for (const auto& t : ts) specs.push_back({t.shape(), t.dtype()});
  return specs;
}

std::vector<Tensor> allocate(const std::vector<TensorSpec>& specs) {
  std::vector<Tensor> ts;
  for (const auto& s : specs) ts.push_back(Tensor::zeros(s.shape, s.dtype));
  return ts;
}

struct Run {
  std::vector<Tensor> outputs, saved;
};

Run forward(const ops::Op& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& params,
            Mode mode, std::uint64_t key, std::uint64_t step) {
  auto specs = specs_of(inputs);
  Run run{allocate(op.infer(specs)),
          mode == Mode::Train ? allocate(op.saved(specs)) : std::vector<Tensor>{}};
  ops::ForwardCall call{.inputs = inputs,
                        .outputs = run.outputs,
                        .params = params,
                        .saved = run.saved,
                        .scratch = {},
                        .mode = mode,
                        .rng_key = key,
                        .step = step};
  op.forward(call);
  return run;
}

double weighted_sum(const std::vector<Tensor>& outputs, const std::vector<Tensor>& weights) {
  double total = 0;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (outputs[k].dtype() != DType::f32) continue;
    const float* y = outputs[k].data<float>();
    const float* r = weights[k].data<float>();
    for (std::int64_t i = 0; i < outputs[k].numel(); ++i) total += double(y[i]) * double(r[i]);
  }
  return total;
}

}  // namespace

std::vector<Tensor> run_forward(const ops::Op& op, const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& params, Mode mode, std::uint64_t rng_key,
                                std::uint64_t step) {
  return forward(op, inputs, params, mode, rng_key, step).outputs;
}

std::vector<Tensor> make_params(const ops::Op& op, const std::vector<Tensor>& inputs,
                                std::uint64_t seed) {
  std::vector<Tensor> params;
  for (const auto& spec : op.params(specs_of(inputs))) {
    Tensor t = Tensor::empty(spec.shape);
    initialize(t, spec.init, spec.fan_in, spec.fan_out, derive_key(seed, spec.name));
    params.push_back(t);
  }
  return params;
}

void expect_gradients_match(const ops::Op& op, const std::vector<Tensor>& inputs_in,
                            const std::vector<Tensor>& params_in, const GradCheckOptions& o) {
  // Private copies: the check perturbs them in place.
  std::vector<Tensor> inputs, params;
  for (const auto& t : inputs_in) inputs.push_back(t.clone());
  for (const auto& t : params_in) params.push_back(t.clone());
  const auto specs = specs_of(inputs);
  const auto param_specs = op.params(specs);

  // Analytic gradients.
  Run run = forward(op, inputs, params, o.mode, o.rng_key, 1);
  std::vector<Tensor> weights;
  for (std::size_t k = 0; k < run.outputs.size(); ++k)
    weights.push_back(random_normal(run.outputs[k].shape(), 1000 + k));
  std::vector<Tensor> grad_inputs(inputs.size()), grad_params(params.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (op.differentiable(int(i)) && inputs[i].dtype() == DType::f32)
      grad_inputs[i] = Tensor::full(inputs[i].shape(), NAN);
  for (std::size_t p = 0; p < params.size(); ++p)
    if (param_specs[p].trainable) grad_params[p] = Tensor::full(params[p].shape(), NAN);
  ops::BackwardCall call{.inputs = inputs,
                         .outputs = run.outputs,
                         .params = params,
                         .saved = run.saved,
                         .grad_outputs = weights,
                         .grad_inputs = grad_inputs,
                         .grad_params = grad_params,
                         .scratch = {},
                         .rng_key = o.rng_key,
                         .step = 1,
                         .input_specs = specs,
                         .mode = o.mode};
  op.backward(call);

  // Numeric gradients, probing up to max_checks_per_tensor elements of each tensor.
  auto probe = [&](const Tensor& x, const Tensor& analytic, const std::string& what) {
    if (!analytic.defined()) return;
    float* xp = x.data<float>();
    const float* gp = analytic.data<float>();
    const std::int64_t n = x.numel();
    const std::int64_t stride = std::max<std::int64_t>(1, n / o.max_checks_per_tensor);
    int failures = 0;
    for (std::int64_t i = 0; i < n && failures < 5; i += stride) {
      const float saved_value = xp[i];
      xp[i] = saved_value + o.eps;
      double up = weighted_sum(forward(op, inputs, params, o.mode, o.rng_key, 1).outputs, weights);
      xp[i] = saved_value - o.eps;
      double down =
          weighted_sum(forward(op, inputs, params, o.mode, o.rng_key, 1).outputs, weights);
      xp[i] = saved_value;
      double numeric = (up - down) / (2.0 * o.eps);
      double diff = std::fabs(numeric - double(gp[i]));
      if (!(diff <= o.atol + o.rtol * std::fabs(numeric))) {
        ++failures;
        ADD_FAILURE() << op.type() << " " << what << " element " << i << ": analytic " << gp[i]
                      << " vs numeric " << numeric << " (shape " << x.shape().str() << ")";
      }
    }
  };
  for (std::size_t i = 0; i < inputs.size(); ++i)
    probe(inputs[i], grad_inputs[i], "input " + std::to_string(i));
  for (std::size_t p = 0; p < params.size(); ++p)
    probe(params[p], grad_params[p], "param " + param_specs[p].name);
}

}  // namespace convkit::testing
