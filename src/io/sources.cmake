# Model spec JSON, the safetensors container, checkpoints.
list(APPEND CONVKIT_SOURCES src/io/model_spec.cpp src/io/model_spec_writer.cpp src/io/safetensors.cpp src/io/checkpoint.cpp)
