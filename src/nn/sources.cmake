list(APPEND CONVKIT_SOURCES src/nn/layers.cpp src/nn/model.cpp src/nn/summary.cpp)
list(APPEND CONVKIT_SOURCES src/nn/layer_schema.cpp)
# The model zoo: the table (zoo.cpp) and one file per family.
list(APPEND CONVKIT_SOURCES src/nn/zoo/zoo.cpp src/nn/zoo/resnet.cpp src/nn/zoo/vgg.cpp
     src/nn/zoo/mobilenet_v2.cpp src/nn/zoo/efficientnet_lite.cpp)
