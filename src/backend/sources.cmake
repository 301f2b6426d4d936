# One line per backend file; oneDNN kernels are src/backend/cpu/<op>_kernel.cpp.
list(APPEND CONVKIT_SOURCES src/backend/backend.cpp src/backend/cpu/cpu_backend.cpp)
