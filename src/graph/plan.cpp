// Plan compilation: kernels, liveness, memory, and the forward/backward step loops.
#include "graph/plan.h"

#include "graph/memory_planner.h"

#include <convkit/util/rng.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace convkit::graph {

using ops::Mode;
using ops::TensorSpec;

// One node's kernel with every tensor it touches, bound once at compile time.
struct Plan::Step {
  const Node* node = nullptr;
  std::unique_ptr<backend::Kernel> kernel;
  bool has_backward = false;
  std::vector<Tensor> inputs, outputs, params, saved;
  std::vector<Tensor> bwd_inputs, bwd_outputs, grad_outputs, grad_inputs, grad_params;
  std::vector<std::pair<Tensor, Tensor>> accumulate;  // after backward: first += second
  std::vector<backend::Layout> output_layouts;
  std::vector<TensorSpec> input_specs;
  ops::ForwardCall fwd;
  ops::BackwardCall bwd;
};

Plan::Plan(const Graph& graph, ParamStore& params, const CompileOptions& options)
    : options_(options),
      backend_(options.context ? options.context : backend::shared_backend(options.backend)) {
  options_.backend = std::string(backend_->name());
  build(graph, params);
  plan_gradient_ready(graph, params);
}

Plan::~Plan() = default;

namespace {

std::size_t bytes_of(const TensorSpec& s) {
  return std::size_t(s.shape.numel()) * size_of(s.dtype);
}

// Buffer kinds planned into the arena.
struct Buffer {
  TensorSpec spec;
  int first = 0, last = 0;
};
}  // namespace

// A value is stored Blocked16 when it is a 4-D f32 activation with channels a multiple of 16,
// neither a graph input nor output, its producer's kernel can write it blocked and every kernel
// that reads it can read it blocked. Its gradient takes the same layout (the gradient buffers
// are planned from `specs`). Readers are asked last to first, since a reader that keeps the
// layout (LayoutOffer::same_layout: batch norm) accepts a blocked input only where its own
// output can be blocked; producers first to last, since what they can write may depend on the
// layouts of their inputs (a pooling writes blocked what it reads blocked).
void Plan::choose_layouts(const Graph& graph, std::vector<backend::KernelRequest>& requests,
                          const std::vector<TensorSpec>& specs,
                          std::vector<backend::Layout>& layouts) {
  const auto& nodes = fused_.nodes;
  auto resolve = [&](ValueId v) { return fused_.alias[v]; };
  std::vector<bool> readers_accept(specs.size(), true), read(specs.size(), false);
  for (ValueId v : graph.inputs()) readers_accept[v] = false;
  for (ValueId v : graph.outputs()) readers_accept[resolve(v)] = false;
  auto can_block = [&](ValueId v) {
    const Shape& shape = specs[v].shape;
    return read[v] && readers_accept[v] && specs[v].dtype == DType::f32 && shape.rank() == 4 &&
           shape[1] % 16 == 0;
  };
  for (std::size_t i = nodes.size(); i-- > 0;) {
    const backend::LayoutOffer offer = backend_->layout_offer(requests[i]);
    bool outputs_can_block = true;
    if (offer.same_layout)
      for (ValueId o : nodes[i].outputs) outputs_can_block = outputs_can_block && can_block(o);
    for (std::size_t k = 0; k < nodes[i].inputs.size(); ++k) {
      const ValueId v = resolve(nodes[i].inputs[k]);
      read[v] = true;
      if (k >= offer.inputs.size() || !offer.inputs[k] || !outputs_can_block)
        readers_accept[v] = false;
      // Read through a view of another shape (a Reshape's output): only as row-major NCHW.
      if (specs[nodes[i].inputs[k]].shape != specs[v].shape) readers_accept[v] = false;
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    requests[i].input_layouts.clear();
    for (std::size_t k = 0; k < nodes[i].inputs.size(); ++k)
      requests[i].input_layouts.push_back(layouts[resolve(nodes[i].inputs[k])]);
    const backend::LayoutOffer offer = backend_->layout_offer(requests[i]);
    requests[i].output_layouts.clear();
    for (std::size_t k = 0; k < nodes[i].outputs.size(); ++k) {
      const ValueId v = nodes[i].outputs[k];
      if (k < offer.outputs.size() && offer.outputs[k] && can_block(v))
        layouts[v] = backend::Layout::Blocked16;
      requests[i].output_layouts.push_back(layouts[v]);
    }
  }
}

void Plan::build(const Graph& graph, ParamStore& store) {
  const bool train = options_.mode == Mode::Train;
  fused_ = options_.fuse ? fuse_activations(graph) : unfused(graph);
  const auto& nodes = fused_.nodes;
  auto specs = graph.infer(options_.batch);
  const auto grad_needed = train ? graph.requires_grad() : std::vector<bool>(specs.size(), false);
  const int S = static_cast<int>(nodes.size());
  const int T = train ? 2 * S : std::max(S, 1);
  auto bwd_time = [&](int i) { return 2 * S - 1 - i; };
  auto resolve = [&](ValueId v) { return fused_.alias[v]; };

  if (train) {
    if (graph.outputs().empty() || specs[graph.outputs()[0]].shape != Shape{1})
      fail("a training plan needs the scalar loss [1] as graph output 0");
  }

  // 1. Kernels, built for the plan's thread count.
  threads_ = options_.threads;
  if (threads_ == 0 && !train) {
    double flops = 0;
    for (const Node& n : nodes) {
      std::vector<TensorSpec> in;
      for (ValueId v : n.inputs) in.push_back(specs[v]);
      flops += n.op->flops(in);
    }
    if (flops < kSingleThreadFlops) threads_ = 1;
  }
  const backend::ExecutionScope scope(*backend_, threads_);
  kernel_threads_ = backend_->threads();
  std::vector<backend::KernelRequest>& kernel_requests = requests_;
  for (int i = 0; i < S; ++i) {
    const Node& n = nodes[i];
    backend::KernelRequest request{.op = *n.op,
                                   .inputs = {},
                                   .outputs = {},
                                   .mode = options_.mode,
                                   .backward = false,
                                   .param_grads = false,
                                   .input_grads = {},
                                   .input_layouts = {},
                                   .output_layouts = {},
                                   .device = backend_->device(),
                                   .batch_sums = bool(options_.batch_sums)};
    for (ValueId v : n.inputs) request.inputs.push_back(specs[v]);
    for (ValueId v : n.outputs) request.outputs.push_back(specs[v]);
    bool any_param_grad = false;
    if (train && n.trainable)
      for (ParamId p : n.params) any_param_grad |= graph.params()[p].spec.trainable;
    request.param_grads = any_param_grad;
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
      request.input_grads.push_back(train && grad_needed[resolve(n.inputs[k])] &&
                                    n.op->differentiable(int(k)));
    bool any_input_grad = std::any_of(request.input_grads.begin(), request.input_grads.end(),
                                      [](bool b) { return b; });
    request.backward = train && (any_param_grad || any_input_grad);
    kernel_requests.push_back(std::move(request));
  }
  std::vector<backend::Layout> layouts(specs.size(), backend::Layout::Plain);
  if (options_.blocked_layouts) choose_layouts(graph, kernel_requests, specs, layouts);

  std::vector<int> producer_step(specs.size(), -1);
  for (int i = 0; i < S; ++i) {
    auto step = std::make_unique<Step>();
    step->node = &nodes[i];
    step->has_backward = kernel_requests[i].backward;
    step->kernel = backend::make_kernel_or_reference(*backend_, kernel_requests[i]);
    for (std::size_t k = 0; k < kernel_requests[i].outputs.size(); ++k)
      step->output_layouts.push_back(kernel_requests[i].output_layout(k));
    for (ValueId v : nodes[i].outputs) producer_step[v] = i;
    steps_.push_back(std::move(step));
  }

  // 2. Lifetimes of values, gradients, saved tensors.
  std::vector<Buffer> buffers;
  std::vector<int> value_buffer(specs.size(), -1), grad_buffer(specs.size(), -1);
  auto is_pinned = [&](ValueId v) {
    for (ValueId x : graph.inputs())
      if (x == v) return true;
    for (ValueId x : graph.outputs())
      if (resolve(x) == v) return true;
    return false;
  };
  auto value_buf = [&](ValueId v) -> int {
    v = resolve(v);
    if (value_buffer[v] < 0) {
      int start = producer_step[v] < 0 ? 0 : producer_step[v];
      value_buffer[v] = static_cast<int>(buffers.size());
      buffers.push_back({specs[v], start, start});
      if (is_pinned(v)) buffers.back() = {specs[v], 0, T - 1};
    }
    return value_buffer[v];
  };
  auto extend = [&](int b, int t) {
    buffers[b].first = std::min(buffers[b].first, t);
    buffers[b].last = std::max(buffers[b].last, t);
  };
  for (ValueId v : graph.inputs()) value_buf(v);
  for (int i = 0; i < S; ++i) {
    const Node& n = nodes[i];
    const auto needs = n.op->backward_needs();
    for (ValueId v : n.inputs) {
      int b = value_buf(v);
      extend(b, i);
      if (steps_[i]->has_backward && needs.inputs) extend(b, bwd_time(i));
    }
    for (ValueId v : n.outputs) {
      int b = value_buf(v);
      if (steps_[i]->has_backward && needs.outputs) extend(b, bwd_time(i));
    }
  }
  for (ValueId v : graph.outputs()) value_buf(v);

  // Gradients: the first contributor (in backward order) writes the value's gradient buffer,
  // later contributors write a temporary that is added right after their backward call.
  struct Contribution {
    int step, input;
    int buffer;  // where it writes
  };
  std::vector<std::vector<Contribution>> contributions(specs.size());
  const ValueId loss = train ? resolve(graph.outputs()[0]) : -1;
  int loss_grad_buffer = -1;
  if (train) {
    for (int i = S - 1; i >= 0; --i) {
      if (!steps_[i]->has_backward) continue;
      const Node& n = nodes[i];
      for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        ValueId v = resolve(n.inputs[k]);
        if (!grad_needed[v] || !n.op->differentiable(int(k))) continue;
        auto& list = contributions[v];
        int t = bwd_time(i);
        if (list.empty()) {
          grad_buffer[v] = static_cast<int>(buffers.size());
          buffers.push_back({specs[v], t, t});
          list.push_back({i, int(k), grad_buffer[v]});
        } else {
          list.push_back({i, int(k), static_cast<int>(buffers.size())});
          buffers.push_back({specs[v], t, t});
          extend(grad_buffer[v], t);
        }
      }
    }
    // The loss gradient is the constant 1, pinned.
    loss_grad_buffer = static_cast<int>(buffers.size());
    buffers.push_back({specs[loss], 0, T - 1});
    grad_buffer[loss] = loss_grad_buffer;
    // Every gradient lives until its producer's backward reads it.
    for (std::size_t v = 0; v < specs.size(); ++v) {
      if (!grad_needed[v] || producer_step[v] < 0 || !steps_[producer_step[v]]->has_backward)
        continue;
      if (grad_buffer[v] < 0) {  // no consumer gives a gradient (e.g. an unused output): zeros
        grad_buffer[v] = static_cast<int>(buffers.size());
        buffers.push_back({specs[v], 0, T - 1});
      }
      extend(grad_buffer[v], bwd_time(producer_step[v]));
    }
  }
  std::vector<std::vector<int>> saved_buffers(S);
  // Saved tensors are written by every Train-mode forward, so they exist even without backward.
  for (int i = 0; train && i < S; ++i) {
    for (const auto& s : steps_[i]->kernel->saved()) {
      saved_buffers[i].push_back(static_cast<int>(buffers.size()));
      buffers.push_back({s, i, steps_[i]->has_backward ? bwd_time(i) : i});
    }
  }

  // 3. Offsets, then one arena for everything plus a shared scratch region, from the backend.
  std::vector<BufferRequest> requests;
  for (const auto& b : buffers) requests.push_back({bytes_of(b.spec), b.first, b.last});
  const MemoryPlan mem = plan_memory(requests);
  std::size_t scratch = 0;
  for (const auto& s : steps_) scratch = std::max(scratch, s->kernel->scratch_bytes());
  scratch_capacity_ = scratch;
  const std::size_t scratch_offset = align_up(mem.total);
  arena_ = Arena(backend_->allocate(scratch_offset + align_up(scratch)));
  if (arena_.device() != backend_->device())
    fail("backend '{}' allocated the plan's arena on {}, not on its device {}", backend_->name(),
         arena_.device().str(), backend_->device().str());
  unplanned_bytes_ = mem.naive + align_up(scratch);
  auto view = [&](int b) {
    return arena_.view(mem.offsets[b], buffers[b].spec.shape, buffers[b].spec.dtype);
  };
  // Buffer b seen as value v: an alias (a Flatten's output) has its own shape over the same bytes.
  auto view_as = [&](int b, ValueId v) {
    return arena_.view(mem.offsets[b], specs[v].shape, specs[v].dtype);
  };
  std::span<std::byte> scratch_span(arena_.base() + scratch_offset, scratch);

  for (ValueId v : graph.inputs()) inputs_.push_back(view(value_buffer[v]));
  for (ValueId v : graph.outputs()) outputs_.push_back(view_as(value_buffer[resolve(v)], v));
  if (train) {
    loss_grad_ = view(loss_grad_buffer);
    backend_->fill(loss_grad_, 1.0f);
  }

  // 4. Bind every call.
  for (int i = 0; i < S; ++i) {
    Step& st = *steps_[i];
    const Node& n = nodes[i];
    const auto needs = n.op->backward_needs();
    for (ValueId v : n.inputs) st.inputs.push_back(view_as(value_buffer[resolve(v)], v));
    for (ValueId v : n.outputs) st.outputs.push_back(view(value_buffer[resolve(v)]));
    for (ParamId p : n.params) {
      st.params.push_back(store.value(p));
      if (st.params.back().device() != backend_->device())
        fail("parameter '{}' of {} lives on {}, but backend '{}' computes on {}",
             graph.params()[p].spec.name, n.name, st.params.back().device().str(), backend_->name(),
             backend_->device().str());
    }
    for (int b : saved_buffers[i]) st.saved.push_back(view(b));
    const std::uint64_t key = derive_key(options_.seed, n.name);
    const ops::BatchSums* sums = options_.batch_sums ? &options_.batch_sums : nullptr;
    st.fwd = {st.inputs,     st.outputs, st.params, st.saved, scratch_span,
              options_.mode, key,        0,         sums};
    if (!st.has_backward) continue;
    st.bwd_inputs = needs.inputs ? st.inputs : std::vector<Tensor>(st.inputs.size());
    st.bwd_outputs = needs.outputs ? st.outputs : std::vector<Tensor>(st.outputs.size());
    for (ValueId v : n.outputs) {
      ValueId r = resolve(v);
      st.grad_outputs.push_back(grad_buffer[r] >= 0 ? view(grad_buffer[r]) : Tensor());
    }
    st.grad_inputs.assign(n.inputs.size(), Tensor());
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      ValueId v = resolve(n.inputs[k]);
      for (const auto& c : contributions[v]) {
        if (c.step != i || c.input != int(k)) continue;
        st.grad_inputs[k] = view_as(c.buffer, n.inputs[k]);
        if (c.buffer != grad_buffer[v])
          st.accumulate.emplace_back(view(grad_buffer[v]), view(c.buffer));
      }
    }
    const bool param_grads = n.trainable;
    for (ParamId p : n.params)
      st.grad_params.push_back(param_grads && graph.params()[p].spec.trainable ? store.grad(p)
                                                                               : Tensor());
    for (ValueId v : n.inputs) st.input_specs.push_back(specs[v]);
    st.bwd = {st.bwd_inputs,  st.bwd_outputs, st.params,    st.saved, st.grad_outputs,
              st.grad_inputs, st.grad_params, scratch_span, key,      0,
              st.input_specs, options_.mode,  sums};
  }
}

// A step's backward finalizes the gradients of the trainable parameters it computes (bound as
// grad_params in build): those of a trainable node with a backward. Parameters belong to one
// node each, so no later step writes them.
void Plan::plan_gradient_ready(const Graph& graph, const ParamStore& store) {
  ready_slots_.assign(steps_.size(), {});
  ready_events_.assign(steps_.size(), GradientReady{});
  if (options_.mode != Mode::Train) return;
  const std::int64_t numel = store.numel();
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const Step& st = *steps_[i];
    if (!st.has_backward || !st.node->trainable) continue;
    for (ParamId p : st.node->params)
      if (graph.params()[p].spec.trainable) ready_slots_[i].push_back(p);
    if (ready_slots_[i].empty()) continue;
    std::int64_t begin = numel, end = 0;
    for (ParamId p : ready_slots_[i]) {
      begin = std::min(begin, store.slots()[p].offset);
      end = std::max(end, store.slots()[p].offset + store.slots()[p].numel);
    }
    ready_events_[i] = {.layer = st.node->name,
                        .slots = ready_slots_[i],
                        .offset = begin,
                        .numel = end - begin,
                        .grads = {store.grad_data() + begin, std::size_t(end - begin)}};
  }
}

bool Plan::set_threads(int threads) {
  if (threads <= 0) fail("set_threads({}): a plan runs on at least one thread", threads);
  if (threads == kernel_threads_) {
    threads_ = threads;
    return true;
  }
  auto built = spare_kernels_.find(threads);
  if (built == spare_kernels_.end()) {
    std::vector<std::unique_ptr<backend::Kernel>> kernels;
    const backend::ExecutionScope scope(*backend_, threads);
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      auto kernel = backend::make_kernel_or_reference(*backend_, requests_[i]);
      if (kernel->saved() != steps_[i]->kernel->saved() ||
          kernel->scratch_bytes() > scratch_capacity_)
        return false;
      kernels.push_back(std::move(kernel));
    }
    built = spare_kernels_.emplace(threads, std::move(kernels)).first;
  }
  std::vector<std::unique_ptr<backend::Kernel>> current;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    current.push_back(std::move(steps_[i]->kernel));
    steps_[i]->kernel = std::move(built->second[i]);
  }
  spare_kernels_.erase(built);
  spare_kernels_.emplace(kernel_threads_, std::move(current));
  kernel_threads_ = threads_ = threads;
  return true;
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void Plan::forward() {
  const backend::ExecutionScope scope(*backend_, threads_);
  if (profiling_) ++profiled_forwards_;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    Step& s = *steps_[i];
    s.fwd.step = step_;
    if (!profiling_) {
      s.kernel->forward(s.fwd);
      continue;
    }
    const auto t = std::chrono::steady_clock::now();
    s.kernel->forward(s.fwd);
    forward_seconds_[i] += seconds_since(t);
  }
  if (options_.mode == Mode::Train) ++step_;
}

void Plan::backward() {
  if (options_.mode != Mode::Train) fail("backward() on a plan compiled for inference");
  const backend::ExecutionScope scope(*backend_, threads_);
  const std::uint64_t step = step_ - 1;  // the forward this backward belongs to
  if (profiling_) ++profiled_backwards_;
  for (std::size_t i = steps_.size(); i-- > 0;) {
    Step& s = *steps_[i];
    if (!s.has_backward) continue;
    s.bwd.step = step;
    const auto t = std::chrono::steady_clock::now();
    s.kernel->backward(s.bwd);
    if (profiling_) backward_seconds_[i] += seconds_since(t);
    for (auto& [dst, src] : s.accumulate) backend_->accumulate(dst, src);
    if (gradient_ready_ && !ready_events_[i].slots.empty()) gradient_ready_(ready_events_[i]);
  }
}

void Plan::set_profiling(bool on) {
  profiling_ = on;
  forward_seconds_.assign(steps_.size(), 0.0);
  backward_seconds_.assign(steps_.size(), 0.0);
  profiled_forwards_ = profiled_backwards_ = 0;
}

std::string Plan::profile_report() const {
  double total = 0;
  for (std::size_t i = 0; i < steps_.size(); ++i)
    total += forward_seconds_.at(i) + backward_seconds_.at(i);
  const double nf = double(std::max<std::int64_t>(profiled_forwards_, 1));
  const double nb = double(std::max<std::int64_t>(profiled_backwards_, 1));
  std::string out = fmt::format("{:<24}{:<14}{:<8}{:>12}{:>12}{:>8}\n", "node", "op", "kernel",
                                "fwd ms", "bwd ms", "share");
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const auto& s = *steps_[i];
    out += fmt::format(
        "{:<24}{:<14}{:<8}{:>12.3f}{:>12.3f}{:>7.1f}%\n", s.node->name, s.node->op->type(),
        s.kernel->name(), 1e3 * forward_seconds_[i] / nf, 1e3 * backward_seconds_[i] / nb,
        total > 0 ? 100 * (forward_seconds_[i] + backward_seconds_[i]) / total : 0.0);
  }
  out += fmt::format(
      "total per step: {:.3f} ms forward, {:.3f} ms backward\n",
      1e3 *
          [&] {
            double t = 0;
            for (double x : forward_seconds_) t += x;
            return t;
          }() /
          nf,
      1e3 *
          [&] {
            double t = 0;
            for (double x : backward_seconds_) t += x;
            return t;
          }() /
          nb);
  return out;
}

std::vector<StepInfo> Plan::steps() const {
  std::vector<StepInfo> out;
  for (const auto& s : steps_)
    out.push_back({s->node->name, std::string(s->node->op->type()), std::string(s->kernel->name()),
                   s->has_backward, s->output_layouts});
  return out;
}

}  // namespace convkit::graph
