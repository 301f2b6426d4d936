# One line per backend file; oneDNN kernels are src/backend/cpu/<op>_kernel.cpp.
list(APPEND CONVKIT_SOURCES src/backend/backend.cpp src/backend/cpu/cpu_backend.cpp src/backend/cpu/host_backend.cpp)
list(APPEND CONVKIT_SOURCES src/backend/cpu/onednn_common.cpp src/backend/cpu/weighted_kernel.cpp src/backend/cpu/conv2d_kernel.cpp src/backend/cpu/conv2d_direct_kernel.cpp
                            src/backend/cpu/dense_kernel.cpp)
list(APPEND CONVKIT_SOURCES src/backend/cpu/pool2d_kernel.cpp src/backend/cpu/pool2d_window_kernel.cpp
                            src/backend/cpu/batch_norm_kernel.cpp
                            src/backend/cpu/batch_norm_simd_kernel.cpp)
list(APPEND CONVKIT_SOURCES src/backend/cpu/activation_kernel.cpp src/backend/cpu/softmax_kernel.cpp
                            src/backend/cpu/dropout_kernel.cpp)
