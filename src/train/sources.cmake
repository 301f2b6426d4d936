list(APPEND CONVKIT_SOURCES src/train/metrics.cpp src/train/progress.cpp src/train/trainer.cpp)
