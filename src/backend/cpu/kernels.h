// Factories of the CPU backend's oneDNN kernels, one per op family (listed in cpu_backend.cpp's
// table). Each returns nullptr for a request it does not support, so the reference kernel runs
// (plain-layout requests only: a layout offer below promises a kernel for every blocked one).
// No oneDNN include here: tests and the backend table see only these declarations.
#pragma once

#include "backend/kernel.h"

#include <cstdint>
#include <memory>

namespace convkit::backend::cpu {

// Activation memory layout of a convolution: Plain runs the primitives on the row-major NCHW
// tensors (oneDNN then uses its im2col+GEMM path); Blocked lets each primitive pick
// (format_tag::any, e.g. nChw16c, JIT kernels) and reorders in and out through scratch.
enum class ConvLayout : std::uint8_t { Plain, Blocked };

struct ConvKernelOptions {
  // Blocked measured 1.5-5x faster for forward+backward on the MNIST/CIFAR layers (see the
  // LayoutTiming test in tests/backend/cpu/conv2d_kernel_test.cpp), reorders included.
  ConvLayout layout = ConvLayout::Blocked;
  // Winograd F(4x4, 3x3) (oneDNN's jit_wino_4x3, AVX-512) for the 3x3 stride-1 convolutions with
  // >= 16 input and output channels and >= 2048 output pixels per call, in Blocked layout, where
  // oneDNN has it; else direct. It does about 2.25x fewer multiplications: measured +25%
  // mnist_cnn training images/s (1,530 -> 1,920; its 32->64 conv is 88% of the FLOPs), +10%
  // mnist_default, +35% mnist_cnn inference at batch 256. Results differ from direct convolution
  // by rounding only.
  bool winograd = true;
};

// Whether oneDNN runs AVX-512 kernels here: only then are 16-channel blocks its native layout
// (AVX2 kernels block by 8), so the backend offers Blocked16 only then.
bool cpu_has_avx512_core();

// Conv2D: the direct kernel for small inference calls on few channels, else oneDNN.
std::unique_ptr<Kernel> make_conv2d_kernel(const KernelRequest& request);
// Blocked16 in and out wherever the oneDNN kernel runs (not the direct kernel's calls).
LayoutOffer conv2d_layout_offer(const KernelRequest& request);
// oneDNN only, with these options.
std::unique_ptr<Kernel> make_conv2d_kernel(const KernelRequest& request, ConvKernelOptions options);
std::unique_ptr<Kernel> make_conv2d_direct_kernel(
    const KernelRequest& request);                         // Infer, C <= 4, Plain
bool conv2d_direct_applies(const KernelRequest& request);  // its shapes take it (layouts aside)
std::unique_ptr<Kernel> make_dense_kernel(const KernelRequest& request);
// Max/AvgPool2D: the window kernel where it applies (stride = kernel, no padding), else oneDNN.
std::unique_ptr<Kernel> make_pool2d_kernel(const KernelRequest& request);
// oneDNN pooling reads Blocked16 (its JIT kernel is several times faster there than on NCHW)
// and writes it when it reads it; the window kernel is Plain only.
LayoutOffer pool2d_layout_offer(const KernelRequest& request);
std::unique_ptr<Kernel> make_pool2d_onednn_kernel(const KernelRequest& request);
std::unique_ptr<Kernel> make_pool2d_window_kernel(const KernelRequest& request);  // plain layout
bool pool2d_window_applies(const KernelRequest& request);  // its shapes take the window kernel
// BatchNorm: oneDNN's JIT kernel on Blocked16 tensors, the SIMD kernel on plain ones.
std::unique_ptr<Kernel> make_batch_norm_any_layout_kernel(const KernelRequest& request);
LayoutOffer batch_norm_layout_offer(const KernelRequest& request);  // same layout in and out
std::unique_ptr<Kernel> make_batch_norm_kernel(const KernelRequest& request);       // oneDNN
std::unique_ptr<Kernel> make_batch_norm_simd_kernel(const KernelRequest& request);  // plain layout
std::unique_ptr<Kernel> make_activation_kernel(const KernelRequest& request);       // every kind
std::unique_ptr<Kernel> make_softmax_kernel(const KernelRequest& request);
std::unique_ptr<Kernel> make_dropout_kernel(const KernelRequest& request);  // element-wise only

}  // namespace convkit::backend::cpu
