// Model: builds the graph snapshot and parameters, compiles plans.
#include <convkit/nn/model.h>

#include "graph/plan.h"
#include "nn/model_access.h"
#include "nn/model_state.h"
#include "ops/softmax_cross_entropy.h"

#include <algorithm>

namespace convkit::nn {

using detail::ModelState;

Model::Model(const Value& input, const Value& output)
    : Model(std::vector{input}, std::vector{output}) {}

Model::Model(const std::vector<Value>& inputs, const std::vector<Value>& outputs) {
  if (inputs.empty() || outputs.empty()) fail("a model needs at least one input and one output");
  const auto& source = inputs[0].graph();
  for (const auto& v : inputs)
    if (!v.defined() || v.graph() != source)
      fail("model inputs must come from one nn::Input graph");
  for (const auto& v : outputs)
    if (!v.defined() || v.graph() != source)
      fail("model outputs must be computed from the model's inputs (same graph)");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (source->value(inputs[i].id()).producer != -1) fail("model input {} is not an nn::Input", i);
  if (inputs.size() != source->inputs().size())
    fail("the graph has {} inputs but the model names {}", source->inputs().size(), inputs.size());
  auto graph =
      std::make_shared<graph::Graph>(*source);  // snapshot: later layer calls don't leak in
  std::vector<graph::ValueId> outs;
  for (const auto& v : outputs) outs.push_back(v.id());
  graph->set_outputs(outs);
  state_ = std::make_shared<ModelState>();
  state_->params = graph::ParamStore(*graph);
  state_->graph = std::move(graph);
  initialize(0);
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model::Model(const Model& other) : state_(std::make_shared<ModelState>()) {
  state_->graph = other.state_->graph;
  state_->seed = other.state_->seed;
  state_->params = graph::ParamStore(*state_->graph);
  for (std::size_t i = 0; i < state_->graph->params().size(); ++i)
    state_->params.value(int(i)).copy_from(other.state_->params.value(int(i)));
}

Model& Model::operator=(const Model& other) {
  if (this != &other) *this = Model(other);
  return *this;
}

void Model::initialize(std::uint64_t seed) {
  state_->seed = seed;
  state_->params.initialize(*state_->graph, seed);
}

std::uint64_t Model::seed() const {
  return state_->seed;
}

std::int64_t Model::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : state_->graph->params())
    if (p.spec.trainable) n += p.spec.shape.numel();
  return n;
}

std::int64_t Model::trainable_parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : state_->graph->params())
    if (p.spec.trainable && state_->graph->node(p.node).trainable) n += p.spec.shape.numel();
  return n;
}

std::vector<std::string> Model::layer_names() const {
  std::vector<std::string> names;
  for (const auto& n : state_->graph->nodes()) names.push_back(n.name);
  return names;
}

namespace {
Shape without_batch(const Shape& s) {
  return Shape(std::vector<std::int64_t>(s.dims().begin() + 1, s.dims().end()));
}
}  // namespace

Shape Model::input_shape(int i) const {
  const auto& g = *state_->graph;
  if (i < 0 || i >= int(g.inputs().size()))
    fail("input_shape({}): the model has {} inputs", i, g.inputs().size());
  return without_batch(g.value(g.inputs()[i]).spec.shape);
}

Shape Model::output_shape(int i) const {
  const auto& g = *state_->graph;
  if (i < 0 || i >= int(g.outputs().size()))
    fail("output_shape({}): the model has {} outputs", i, g.outputs().size());
  return without_batch(g.value(g.outputs()[i]).spec.shape);
}

namespace {

// Glob match: '*' any run of characters, '?' any one.
bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The nodes `layers` names (a name or a glob); throws Error naming `what` when none match.
std::vector<graph::NodeId> select_layers(const graph::Graph& graph, std::string_view layers,
                                         std::string_view what) {
  std::vector<graph::NodeId> ids;
  if (layers.find_first_of("*?") == std::string_view::npos) {
    if (const auto id = graph.find_node(layers); id >= 0) ids.push_back(id);
    if (ids.empty()) fail("{}: the model has no layer named '{}'", what, layers);
    return ids;
  }
  for (std::size_t i = 0; i < graph.nodes().size(); ++i)
    if (glob_match(layers, graph.nodes()[i].name)) ids.push_back(graph::NodeId(i));
  if (ids.empty()) fail("{}: no layer of the model matches '{}'", what, layers);
  return ids;
}

graph::NodeId find_layer(const graph::Graph& graph, std::string_view layer, std::string_view what) {
  const auto id = graph.find_node(layer);
  if (id < 0) fail("{}: the model has no layer named '{}'", what, layer);
  return id;
}

}  // namespace

namespace {

// Applies `set` to every layer `layers` selects on a copy of the graph (copies of a model share
// graphs: copy on write), then refreshes the parameter slots from it.
template <typename Set>
void edit_layers(detail::ModelState& state, std::string_view layers, std::string_view what,
                 Set&& set) {
  auto graph = std::make_shared<graph::Graph>(*state.graph);
  for (const auto id : select_layers(*graph, layers, what)) set(*graph, id);
  state.params.sync_trainable(*graph);
  state.graph = std::move(graph);
}

}  // namespace

void Model::set_trainable(std::string_view layers, bool trainable) {
  edit_layers(*state_, layers, "set_trainable",
              [&](graph::Graph& g, graph::NodeId id) { g.set_trainable(id, trainable); });
}

void Model::set_lr_multiplier(std::string_view layers, double multiplier) {
  edit_layers(*state_, layers, "set_lr_multiplier",
              [&](graph::Graph& g, graph::NodeId id) { g.set_lr_multiplier(id, multiplier); });
}

bool Model::trainable(std::string_view layer) const {
  return state_->graph->node(find_layer(*state_->graph, layer, "trainable")).trainable;
}

double Model::lr_multiplier(std::string_view layer) const {
  return state_->graph->node(find_layer(*state_->graph, layer, "lr_multiplier")).lr_multiplier;
}

std::vector<std::string> Model::parameter_names() const {
  std::vector<std::string> names;
  for (const auto& p : state_->graph->params()) names.push_back(p.name);
  return names;
}

Tensor Model::parameter(std::string_view name) const {
  const auto& params = state_->graph->params();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].name == name) return state_->params.value(int(i));
  fail("the model has no parameter named '{}'", name);
}

ParamBlock Model::parameter_block() const {
  return state_->params.block();
}

const graph::Graph& ModelAccess::graph(const Model& model) {
  return *model.state_->graph;
}
const graph::ParamStore& ModelAccess::params(const Model& model) {
  return model.state_->params;
}
graph::ParamStore& ModelAccess::params(Model& model) {
  return model.state_->params;
}
Model ModelAccess::from_graph(std::shared_ptr<const graph::Graph> graph, std::uint64_t seed) {
  auto state = detail::make_model_state(std::move(graph));
  state->seed = seed;
  return Model(std::move(state));
}

// Plan::Impl and the compile functions live here because they need the graph internals.
struct Plan::Impl {
  std::shared_ptr<ModelState> model;
  std::shared_ptr<const graph::Graph> graph;  // the graph compiled (with the loss for training)
  std::unique_ptr<graph::Plan> plan;
  bool training = false;
};

Plan Model::compile_training(const TrainingOptions& options) const {
  auto impl = std::make_unique<Plan::Impl>();
  impl->model = state_;
  impl->training = true;
  // The training graph: the model plus a labels input and the loss on output 0.
  auto graph = std::make_shared<graph::Graph>(*state_->graph);
  if (graph->outputs().size() != 1)
    fail("compile_training: the model must have exactly one output (the logits)");
  const auto logits = graph->outputs()[0];
  const auto labels =
      options.soft_targets
          ? graph->add_input("labels", Shape{graph->value(logits).spec.shape[1]}, DType::f32)
          : graph->add_input("labels", Shape{}, DType::i32);
  auto loss_op = std::make_shared<ops::SoftmaxCrossEntropy>(ops::SoftmaxCrossEntropyAttrs{
      .label_smoothing = options.label_smoothing, .class_weights = options.class_weights});
  const auto loss = graph->add_node("loss", loss_op, {logits, labels})[0];
  graph->set_outputs({loss, logits});
  impl->graph = graph;
  impl->plan = std::make_unique<graph::Plan>(
      *graph, state_->params,
      graph::CompileOptions{.batch = options.batch,
                            .mode = ops::Mode::Train,
                            .backend = options.backend,
                            .fuse = options.fuse,
                            .blocked_layouts = options.blocked_layouts,
                            .seed = state_->seed,
                            .threads = options.threads,
                            .batch_sums = options.batch_sums});
  return Plan(std::move(impl));
}

Plan Model::compile_inference(const InferenceOptions& options) const {
  auto impl = std::make_unique<Plan::Impl>();
  impl->model = state_;
  impl->graph = state_->graph;
  if (options.input_shape && *options.input_shape != input_shape(0))
    impl->graph =
        std::make_shared<graph::Graph>(state_->graph->with_input_shapes({*options.input_shape}));
  impl->plan = std::make_unique<graph::Plan>(
      *impl->graph, state_->params,
      graph::CompileOptions{.batch = options.batch,
                            .mode = ops::Mode::Infer,
                            .backend = options.backend,
                            .fuse = options.fuse,
                            .blocked_layouts = options.blocked_layouts,
                            .seed = state_->seed,
                            .threads = options.threads});
  return Plan(std::move(impl));
}

Model sequential(const Shape& input_shape, std::initializer_list<Layer> layers) {
  return sequential(input_shape, std::vector<Layer>(layers));
}

Model sequential(const Shape& input_shape, const std::vector<Layer>& layers) {
  Value input = Input(input_shape);
  Value x = input;
  for (const auto& layer : layers) x = layer(x);
  return Model(input, x);
}

// ---- Plan ----

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

Tensor Plan::input(int i) const {
  return impl_->plan->input(i);
}

Tensor Plan::labels() const {
  if (!impl_->training) fail("labels(): an inference plan has no labels");
  return impl_->plan->input(impl_->plan->num_inputs() - 1);
}

Tensor Plan::output(int i) const {
  if (impl_->training) {
    if (i != 0) fail("output({}): a training plan has one output, the logits", i);
    return impl_->plan->output(1);
  }
  return impl_->plan->output(i);
}

std::int64_t Plan::batch() const {
  return impl_->plan->options().batch;
}
std::uint64_t Plan::step() const {
  return impl_->plan->step();
}
void Plan::set_step(std::uint64_t step) {
  impl_->plan->set_step(step);
}
void Plan::forward() {
  impl_->plan->forward();
}
void Plan::backward() {
  impl_->plan->backward();
}

float Plan::loss() const {
  if (!impl_->training) fail("loss(): only training plans compute the loss");
  return impl_->plan->output(0).data<float>()[0];
}

ParamBlock Plan::parameter_block() const {
  return impl_->model->params.block();
}

void Plan::set_gradient_ready_hook(GradientReadyHook hook) {
  if (!impl_->training && hook) fail("set_gradient_ready_hook() on an inference plan");
  impl_->plan->set_gradient_ready_hook(std::move(hook));
}

std::size_t Plan::memory_bytes() const {
  return impl_->plan->arena_bytes();
}
std::size_t Plan::unplanned_bytes() const {
  return impl_->plan->unplanned_bytes();
}

void Plan::set_profiling(bool on) {
  impl_->plan->set_profiling(on);
}
std::string Plan::profile_report() const {
  return impl_->plan->profile_report();
}

int Plan::threads() const {
  return impl_->plan->threads();
}
bool Plan::set_threads(int threads) {
  return impl_->plan->set_threads(threads);
}

std::string Plan::describe() const {
  std::string out;
  for (const auto& s : impl_->plan->steps()) {
    const bool blocked =
        std::any_of(s.output_layouts.begin(), s.output_layouts.end(),
                    [](backend::Layout l) { return l == backend::Layout::Blocked16; });
    out += fmt::format("{:<24} {:<20} {:<8} {:<8}{}\n", s.node, s.op, s.kernel,
                       blocked ? "nChw16c" : "nchw", s.backward ? " +backward" : "");
  }
  return out;
}

}  // namespace convkit::nn
