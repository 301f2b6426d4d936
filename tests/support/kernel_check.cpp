// Fast kernel vs reference kernel comparison (see kernel_check.h).
#include "support/kernel_check.h"

#include "backend/cpu/cpu_backend.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <span>
#include <string>

namespace convkit::testing {

using backend::Kernel;
using backend::KernelRequest;
using ops::Mode;
using ops::TensorSpec;

namespace {

std::vector<TensorSpec> specs_of(const std::vector<Shape>& shapes) {
  std::vector<TensorSpec> specs;
  for (const auto& s : shapes) specs.push_back({s, DType::f32});
  return specs;
}

// A tensor whose every byte is 0xFF (NaN as f32), so unwritten elements show up.
Tensor garbage(const TensorSpec& spec) {
  Tensor t = Tensor::empty(spec.shape, spec.dtype);
  if (t.nbytes() > 0) std::memset(t.raw(), 0xFF, t.nbytes());
  return t;
}

std::vector<Tensor> garbage(const std::vector<TensorSpec>& specs) {
  std::vector<Tensor> ts;
  for (const auto& s : specs) ts.push_back(garbage(s));
  return ts;
}

// Scratch memory of one kernel call: 64-byte aligned, NaN-filled, refilled for every call.
struct Scratch {
  Tensor block;
  explicit Scratch(std::size_t bytes)
      : block(garbage(TensorSpec{Shape{std::int64_t(bytes)}, DType::u8})) {}
  std::span<std::byte> span() const {
    if (block.nbytes() > 0) std::memset(block.raw(), 0xFF, block.nbytes());
    return {static_cast<std::byte*>(block.raw()), block.nbytes()};
  }
};

// Parameters with non-trivial values: the op's initializer for weights, random values for
// biases and norm parameters, positive running variances.
std::vector<Tensor> make_check_params(const ops::Op& op, const std::vector<Tensor>& inputs,
                                      std::uint64_t seed) {
  std::vector<TensorSpec> specs;
  for (const auto& t : inputs) specs.push_back({t.shape(), t.dtype()});
  auto params = make_params(op, inputs, seed);
  const auto param_specs = op.params(specs);
  for (std::size_t p = 0; p < params.size(); ++p) {
    const std::string& name = param_specs[p].name;
    const Shape& shape = params[p].shape();
    if (name == "running_var")
      params[p] = random_uniform(shape, seed + 10 + p, 0.5f, 1.5f);
    else if (name == "gamma")
      params[p] = random_uniform(shape, seed + 10 + p, 0.5f, 1.5f);
    else if (name != "weight")
      params[p] = random_normal(shape, seed + 10 + p, 0.5f);
  }
  return params;
}

std::vector<Tensor> clones(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const auto& t : ts) out.push_back(t.clone());
  return out;
}

// One kernel's tensors for a forward + backward.
struct Run {
  std::vector<Tensor> outputs, params, saved, grad_inputs, grad_params;
};

Run run_kernel(Kernel& kernel, const KernelRequest& request, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& params, const std::vector<Tensor>& grad_outputs,
               bool backward, const ops::BatchSums* batch_sums) {
  const ops::Op& op = request.op;
  Run run{garbage(request.outputs),
          clones(params),
          request.mode == Mode::Train ? garbage(kernel.saved()) : std::vector<Tensor>{},
          {},
          {}};
  Scratch scratch(kernel.scratch_bytes());
  kernel.forward({.inputs = inputs,
                  .outputs = run.outputs,
                  .params = run.params,
                  .saved = run.saved,
                  .scratch = scratch.span(),
                  .mode = request.mode,
                  .rng_key = 7,
                  .step = 1,
                  .batch_sums = batch_sums});
  if (!backward) return run;

  // Only what backward_needs() keeps is passed; the rest is undefined, as after planning.
  const ops::BackwardNeeds needs = op.backward_needs();
  std::vector<Tensor> kept_inputs(inputs.size()), kept_outputs(run.outputs.size());
  if (needs.inputs) kept_inputs = inputs;
  if (needs.outputs) kept_outputs = run.outputs;
  run.grad_inputs.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (request.input_grads[i]) run.grad_inputs[i] = garbage(request.inputs[i]);
  const auto param_specs = op.params(request.inputs);
  run.grad_params.resize(params.size());
  for (std::size_t p = 0; p < params.size(); ++p)
    if (request.param_grads && param_specs[p].trainable)
      run.grad_params[p] = garbage(TensorSpec{params[p].shape(), DType::f32});
  kernel.backward({.inputs = kept_inputs,
                   .outputs = kept_outputs,
                   .params = run.params,
                   .saved = run.saved,
                   .grad_outputs = grad_outputs,
                   .grad_inputs = run.grad_inputs,
                   .grad_params = run.grad_params,
                   .scratch = scratch.span(),
                   .rng_key = 7,
                   .step = 1,
                   .input_specs = request.inputs,
                   .mode = request.mode,
                   .batch_sums = batch_sums});
  return run;
}

}  // namespace

KernelRequest make_request(const ops::Op& op, const std::vector<Shape>& input_shapes,
                           const KernelCheckOptions& o) {
  const auto inputs = specs_of(input_shapes);
  std::vector<bool> input_grads = o.input_grads;
  if (input_grads.empty())
    for (std::size_t i = 0; i < inputs.size(); ++i)
      input_grads.push_back(op.differentiable(int(i)));
  const bool backward = o.backward && o.mode == Mode::Train;
  return KernelRequest{.op = op,
                       .inputs = inputs,
                       .outputs = op.infer(inputs),
                       .mode = o.mode,
                       .backward = backward,
                       .param_grads = backward && o.param_grads,
                       .input_grads = backward ? input_grads : std::vector<bool>(inputs.size()),
                       .batch_sums = o.batch_sums != nullptr};
}

std::unique_ptr<Kernel> make_cpu_kernel(const KernelRequest& request) {
  return backend::cpu::make_cpu_backend()->make_kernel(request);
}

void expect_close(const Tensor& fast, const Tensor& ref, float tolerance, const std::string& what) {
  ASSERT_EQ(fast.shape(), ref.shape()) << what;
  const float* f = fast.data<float>();
  const float* r = ref.data<float>();
  const std::int64_t n = ref.numel();
  double scale = 1.0, worst = 0.0;
  for (std::int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(double(r[i])));
  std::int64_t first_bad = -1;
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(double(f[i]) - double(r[i]));
    if (!(d <= tolerance * scale)) {  // also catches NaN
      if (first_bad < 0) first_bad = i;
      worst = std::isnan(d) ? d : std::max(worst, d);
    }
  }
  if (first_bad >= 0)
    ADD_FAILURE() << what << " " << ref.shape().str() << ": element " << first_bad << " fast "
                  << f[first_bad] << " vs reference " << r[first_bad] << " (worst |diff| " << worst
                  << ", allowed " << tolerance * scale << ")";
}

void expect_kernel_matches_reference(const ops::Op& op, const std::vector<Shape>& input_shapes,
                                     const KernelCheckOptions& o) {
  const KernelRequest request = make_request(op, input_shapes, o);
  std::unique_ptr<Kernel> fast = o.factory ? o.factory(request) : make_cpu_kernel(request);
  if (!fast) {
    if (o.expect_fast) ADD_FAILURE() << op.type() << ": the CPU backend fell back to the reference";
    return;
  }
  EXPECT_NE(fast->name(), "ref");
  backend::ReferenceKernel ref(request);

  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < input_shapes.size(); ++i)
    inputs.push_back(random_normal(input_shapes[i], o.seed + 100 * i, o.input_scale));
  const std::vector<Tensor> params = make_check_params(op, inputs, o.seed);
  std::vector<Tensor> grad_outputs;
  for (std::size_t k = 0; k < request.outputs.size(); ++k)
    grad_outputs.push_back(random_normal(request.outputs[k].shape, o.seed + 1000 + k));

  const bool backward = request.backward;
  const Run expected =
      run_kernel(ref, request, inputs, params, grad_outputs, backward, o.batch_sums);
  // Two runs of the fast kernel on different buffers: the second must rebind every pointer.
  for (int pass = 0; pass < 2; ++pass) {
    const Run got =
        run_kernel(*fast, request, inputs, params, grad_outputs, backward, o.batch_sums);
    const std::string tag = std::string(op.type()) + " (pass " + std::to_string(pass) + ") ";
    for (std::size_t k = 0; k < got.outputs.size(); ++k)
      expect_close(got.outputs[k], expected.outputs[k], o.tolerance,
                   tag + "output " + std::to_string(k));
    for (std::size_t p = 0; p < got.params.size(); ++p)  // buffers (running stats) updated alike
      expect_close(got.params[p], expected.params[p], o.tolerance,
                   tag + "param " + std::to_string(p));
    if (!backward) continue;
    for (std::size_t i = 0; i < got.grad_inputs.size(); ++i)
      if (expected.grad_inputs[i].defined())
        expect_close(got.grad_inputs[i], expected.grad_inputs[i], o.tolerance,
                     tag + "grad input " + std::to_string(i));
    for (std::size_t p = 0; p < got.grad_params.size(); ++p)
      if (expected.grad_params[p].defined())
        expect_close(got.grad_params[p], expected.grad_params[p], o.tolerance,
                     tag + "grad param " + std::to_string(p));
  }
}

}  // namespace convkit::testing
