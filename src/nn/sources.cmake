list(APPEND CONVKIT_SOURCES src/nn/layers.cpp src/nn/model.cpp src/nn/summary.cpp)
