# Model spec JSON, the safetensors container, checkpoints, PNG encoding, TensorBoard event files.
list(APPEND CONVKIT_SOURCES src/io/model_spec.cpp src/io/model_spec_writer.cpp src/io/safetensors.cpp src/io/checkpoint.cpp src/io/png_writer.cpp src/io/tensorboard.cpp)
list(APPEND CONVKIT_SOURCES src/io/onnx/onnx_file.cpp src/io/onnx/importer.cpp src/io/onnx/import_ops.cpp src/io/onnx/exporter.cpp src/io/onnx/export_ops.cpp)  # ONNX import (a trainable graph) and export
