# Datasets: IDX reading/writing, the dataset registry, resolution/download, the batch loader.
list(APPEND CONVKIT_SOURCES src/data/dataset.cpp src/data/idx.cpp src/data/registry.cpp)
list(APPEND CONVKIT_SOURCES src/data/resolve.cpp src/data/download.cpp src/data/loader.cpp)
list(APPEND CONVKIT_SOURCES src/data/image_file.cpp)
