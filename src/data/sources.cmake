# Datasets: IDX reading/writing, the dataset registry, resolution/download, the batch loader.
list(APPEND CONVKIT_SOURCES src/data/dataset.cpp src/data/idx.cpp src/data/registry.cpp)
list(APPEND CONVKIT_SOURCES src/data/resolve.cpp src/data/download.cpp src/data/loader.cpp)
list(APPEND CONVKIT_SOURCES src/data/image_file.cpp src/data/source.cpp src/data/geometry.cpp src/data/image_folder.cpp src/data/decoded_cache.cpp)
list(APPEND CONVKIT_SOURCES src/data/jpeg.cpp src/data/png.cpp src/data/netpbm.cpp)  # decoders behind image_file.cpp
list(APPEND CONVKIT_SOURCES src/data/transforms/augmenter.cpp src/data/transforms/affine.cpp src/data/transforms/crop.cpp src/data/transforms/elastic.cpp src/data/transforms/flip.cpp src/data/transforms/color.cpp src/data/transforms/cutout.cpp src/data/transforms/mix.cpp src/data/transforms/resize.cpp src/data/transforms/channels.cpp)
list(APPEND CONVKIT_SOURCES src/data/cifar.cpp src/data/tar.cpp)  # CIFAR-10/100 binary batches, tar reader
