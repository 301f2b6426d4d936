list(APPEND CONVKIT_SOURCES src/nn/layers.cpp src/nn/model.cpp src/nn/summary.cpp)
list(APPEND CONVKIT_SOURCES src/nn/layer_schema.cpp)
