list(APPEND CONVKIT_SOURCES src/util/rng.cpp)
