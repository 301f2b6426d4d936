# The optimizers: the shared step and factory, then one file per optimizer.
set(CONVKIT_OPTIM_SOURCES src/optim/optimizer.cpp src/optim/schedule.cpp src/optim/sgd.cpp src/optim/adam.cpp
                          src/optim/adamw.cpp src/optim/rmsprop.cpp)
list(APPEND CONVKIT_SOURCES ${CONVKIT_OPTIM_SOURCES})
# NOTE: sqrt may set errno, which keeps GCC from vectorizing the update loops; the results are
# the same (IEEE sqrt is exact either way).
set_source_files_properties(${CONVKIT_OPTIM_SOURCES} PROPERTIES COMPILE_OPTIONS -fno-math-errno)
