# run/: a run as a library — RunConfig (YAML + --set), model and dataset from config, the run
# directory (one writer, one reader), run::train, TTA, reports, augmentation previews.
list(APPEND CONVKIT_SOURCES src/run/config.cpp src/run/config_layers.cpp src/run/config_backbone.cpp src/run/onnx_import.cpp src/run/yaml_section.cpp
     src/run/augment_config.cpp src/run/image_data_config.cpp src/run/datasets.cpp src/run/run_dir.cpp src/run/tta.cpp src/run/train.cpp
     src/run/report.cpp src/run/evaluate.cpp src/run/augment_preview.cpp ${CMAKE_BINARY_DIR}/generated/default_config.cpp)
