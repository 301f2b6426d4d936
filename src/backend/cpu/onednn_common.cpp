// oneDNN plumbing shared by the CPU kernels: engine/stream, memory descs, and Program (a
// prebuilt primitive sequence whose memory handles follow the call's pointers; see the header).
#include "backend/cpu/onednn_common.h"

#include <convkit/tensor/arena.h>

#include <algorithm>
#include <limits>

namespace convkit::backend::cpu {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

memory::dims to_dims(const Shape& shape) {
  return memory::dims(shape.dims().begin(), shape.dims().end());
}

memory::desc plain_desc(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (int i = int(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return memory::desc(dims, memory::data_type::f32, strides);
}

bool cpu_has_avx512_core() {
  const auto isa = unsigned(dnnl::get_effective_cpu_isa());  // ISA bit sets include their subsets
  return (isa & unsigned(dnnl_cpu_isa_avx512_core)) == unsigned(dnnl_cpu_isa_avx512_core);
}

memory::desc activation_desc(const ops::TensorSpec& spec, Layout layout) {
  if (layout == Layout::Plain) return plain_desc(spec.shape);
  if (spec.shape.rank() != 4 || spec.shape[1] % 16 != 0 || spec.dtype != DType::f32)
    fail("a Blocked16 tensor must be 4-D f32 with channels a multiple of 16, got {}",
         spec.shape.str());
  return memory::desc(to_dims(spec.shape), memory::data_type::f32, Tag::nChw16c);
}

memory::desc any_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, Tag::any);
}

namespace {

// Where an eltwise's alpha/beta come from: the row's constants or the op's parameters.
enum class Params : std::uint8_t { Row, Op };

struct EltwiseRow {
  ops::ActivationKind kind;
  dnnl::algorithm fwd;  // backward from x
  dnnl::algorithm dst;  // backward from y (undef: none)
  Params params = Params::Row;
  float alpha = 0.0f, beta = 0.0f;
};

using dnnl::algorithm;
using K = ops::ActivationKind;
// One row per activation kind oneDNN computes (kinds not listed run the reference kernel).
// NOTE: oneDNN 2.6 has no eltwise_hardsigmoid (2.7+: alpha 1/6, beta 0.5), so HardSigmoid has no
// row here: its kernel composes eltwise_linear and eltwise_clip_v2 (activation_kernel.cpp), and
// it does not fuse.
const EltwiseRow kEltwise[] = {
    {K::ReLU, algorithm::eltwise_relu, algorithm::eltwise_relu_use_dst_for_bwd},
    {K::LeakyReLU, algorithm::eltwise_relu, algorithm::eltwise_relu_use_dst_for_bwd, Params::Op},
    {K::ELU, algorithm::eltwise_elu, algorithm::eltwise_elu_use_dst_for_bwd, Params::Op},
    {K::GELU, algorithm::eltwise_gelu_erf, algorithm::undef},  // gelu_tanh: eltwise_gelu_tanh
    {K::SiLU, algorithm::eltwise_swish, algorithm::undef, Params::Row, 1.0f},
    {K::Sigmoid, algorithm::eltwise_logistic, algorithm::eltwise_logistic_use_dst_for_bwd},
    {K::Tanh, algorithm::eltwise_tanh, algorithm::eltwise_tanh_use_dst_for_bwd},
    {K::ReLU6, algorithm::eltwise_clip_v2, algorithm::eltwise_clip_v2_use_dst_for_bwd, Params::Row,
     0.0f, 6.0f},
    {K::Clip, algorithm::eltwise_clip_v2, algorithm::eltwise_clip_v2_use_dst_for_bwd, Params::Op},
    {K::HardSwish, algorithm::eltwise_hardswish, algorithm::undef},
};

}  // namespace

std::optional<Eltwise> eltwise_of(ops::ActivationKind kind, bool from_output, float alpha,
                                  float beta, bool gelu_tanh) {
  for (const auto& row : kEltwise) {
    if (row.kind != kind) continue;
    Eltwise e{from_output ? row.dst : row.fwd, row.alpha, row.beta};
    if (row.params == Params::Op) e.alpha = alpha, e.beta = beta;
    if (kind == K::GELU && gelu_tanh) e.alg = algorithm::eltwise_gelu_tanh;
    // The *_use_dst_for_bwd forms of relu and elu need alpha >= 0 (y keeps the sign of x).
    if (e.alg == algorithm::undef ||
        (from_output && row.params == Params::Op && kind != K::Clip && alpha < 0))
      return std::nullopt;
    return e;
  }
  return std::nullopt;
}

Eltwise fused_eltwise(ops::FusedActivation a, bool from_output) {
  const auto& info = ops::activation_info(a);
  const auto e = eltwise_of(a, from_output, float(info.alpha), float(info.beta));
  if (!e || !info.fuses) fail("no oneDNN eltwise for fused activation {}", ops::name_of(a));
  return *e;
}

dnnl::primitive_attr make_attr(ops::FusedActivation post_op) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (post_op != ops::FusedActivation::None) {
    dnnl::post_ops ops;
    const Eltwise e = fused_eltwise(post_op, false);
    ops.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
    attr.set_post_ops(ops);
  }
  return attr;
}

dnnl::eltwise_forward::primitive_desc eltwise_forward_pd(ops::FusedActivation activation,
                                                         const memory::desc& md) {
  const Eltwise e = fused_eltwise(activation, false);
  return {
      {dnnl::prop_kind::forward_inference, e.alg, md, e.alpha, e.beta}, make_attr(), cpu_engine()};
}

OutputGradient add_output_gradient(Program& program, ops::FusedActivation activation,
                                   const memory::desc& md) {
  OutputGradient g;
  g.dy = g.grad = program.external(md);
  if (activation == ops::FusedActivation::None) return g;
  g.y = program.external(md);
  g.grad = program.temporary(md);
  const Eltwise e = fused_eltwise(activation, true);
  dnnl::eltwise_forward::primitive_desc hint(
      {dnnl::prop_kind::forward_training, e.alg, md, e.alpha, e.beta}, make_attr(), cpu_engine());
  dnnl::eltwise_backward::primitive_desc pd({e.alg, md, md, e.alpha, e.beta}, make_attr(),
                                            cpu_engine(), hint);
  program.add(pd, {{DNNL_ARG_DST, g.y}, {DNNL_ARG_DIFF_DST, g.dy}, {DNNL_ARG_DIFF_SRC, g.grad}});
  return g;
}

Program::Slot Program::new_slot(const memory::desc& md, bool temporary) {
  SlotInfo s{md, memory(md, cpu_engine(), DNNL_MEMORY_NONE)};
  s.temporary = temporary;
  slots_.push_back(std::move(s));
  return Slot(slots_.size() - 1);
}

Program::Slot Program::external(const memory::desc& md) {
  return new_slot(md, false);
}

Program::Slot Program::temporary(const memory::desc& md) {
  return new_slot(md, true);
}

Program::Slot Program::staging(Slot slot, const memory::desc& want) {
  return slots_[slot].md == want ? slot : temporary(want);
}

void Program::copy(Slot from, Slot to) {
  if (from == to) return;
  dnnl::reorder::primitive_desc pd(cpu_engine(), slots_[from].md, cpu_engine(), slots_[to].md,
                                   make_attr());
  add(pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

void Program::keep(Slot slot) {
  SlotInfo& s = slots_[slot];
  if (!s.temporary || s.first < 0) return;  // externals live anyway; unused: nothing to keep
  s.last = std::numeric_limits<int>::max();
  plan();
}

void Program::use(Slot slot, int step) {
  SlotInfo& s = slots_[slot];
  if (!s.temporary) return;
  if (s.first < 0) s.first = step;
  s.last = std::max(s.last, step);
}

void Program::add(const dnnl::primitive_desc_base& pd,
                  std::initializer_list<std::pair<int, Slot>> args) {
  add(pd, std::vector<std::pair<int, Slot>>(args));
}

void Program::add(const dnnl::primitive_desc_base& pd,
                  const std::vector<std::pair<int, Slot>>& args) {
  const int index = int(steps_.size());
  Step step{dnnl::primitive(pd.get()), {}, {}, group_};
  auto bind_arg = [&](int arg, Slot slot) {
    step.args.push_back({arg, slots_[slot].mem.get()});
    if (slots_[slot].temporary)
      use(slot, index);
    else
      step.externals.push_back(slot);
  };
  for (const auto& [arg, slot] : args) bind_arg(arg, slot);
  const memory::desc pad = pd.scratchpad_desc();
  if (pad.get_size() > 0) bind_arg(DNNL_ARG_SCRATCHPAD, temporary(pad));
  steps_.push_back(std::move(step));
  plan();
}

void Program::plan() {
  std::vector<Slot> order;
  for (Slot i = 0; i < Slot(slots_.size()); ++i)
    if (slots_[i].temporary && slots_[i].first >= 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](Slot a, Slot b) { return slots_[a].first < slots_[b].first; });
  std::vector<Slot> live;  // placed temporaries, sorted by offset
  scratch_bytes_ = 0;
  for (Slot t : order) {
    SlotInfo& s = slots_[t];
    std::erase_if(live, [&](Slot o) { return slots_[o].last < s.first; });
    const std::size_t bytes = align_up(s.md.get_size());
    std::size_t offset = 0;
    for (Slot o : live) {  // first gap that fits
      if (slots_[o].offset >= offset + bytes) break;
      offset = std::max(offset, slots_[o].offset + align_up(slots_[o].md.get_size()));
    }
    s.offset = offset;
    live.insert(
        std::upper_bound(live.begin(), live.end(), t,
                         [&](Slot a, Slot b) { return slots_[a].offset < slots_[b].offset; }),
        t);
    scratch_bytes_ = std::max(scratch_bytes_, offset + bytes);
  }
  bound_scratch_ = nullptr;  // offsets may have moved: rebind on the next run
}

void Program::bind(Slot slot, void* data) {
  SlotInfo& s = slots_[slot];
  if (s.data == data) return;
  s.data = data;
  if (data) s.mem.set_data_handle(data);
}

void Program::run(std::span<std::byte> scratch, std::uint32_t groups) {
  if (scratch_bytes_ > 0) {
    if (scratch.size() < scratch_bytes_)
      fail("oneDNN kernel needs {} bytes of scratch, the call gave {}", scratch_bytes_,
           scratch.size());
    if (scratch.data() != bound_scratch_) {
      for (SlotInfo& s : slots_)
        if (s.temporary && s.first >= 0) {
          s.data = scratch.data() + s.offset;
          s.mem.set_data_handle(s.data);
        }
      bound_scratch_ = scratch.data();
    }
  }
  dnnl::stream& stream = cpu_stream();
  for (const Step& step : steps_) {
    if (!(groups >> step.group & 1u)) continue;
    for (Slot e : step.externals)
      if (!slots_[e].data) fail("oneDNN kernel: a tensor it needs was not given (slot {})", e);
    dnnl::error::wrap_c_api(dnnl_primitive_execute(step.prim.get(), stream.get(),
                                                   int(step.args.size()), step.args.data()),
                            "could not execute a oneDNN primitive");
  }
  stream.wait();
}

}  // namespace convkit::backend::cpu
