list(APPEND CONVKIT_SOURCES src/tensor/dtype.cpp src/tensor/init.cpp src/tensor/shape.cpp src/tensor/tensor.cpp src/tensor/buffer.cpp)
