list(APPEND CONVKIT_SOURCES src/train/metrics.cpp src/train/progress.cpp src/train/trainer.cpp src/train/predictor.cpp src/train/preprocess.cpp src/train/callbacks.cpp src/train/tensorboard_callback.cpp src/train/weight_average.cpp)
list(APPEND CONVKIT_SOURCES src/train/step.cpp src/train/thread_share.cpp src/train/feature_cache.cpp)
