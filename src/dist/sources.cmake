list(APPEND CONVKIT_SOURCES src/dist/launch.cpp src/dist/local_group.cpp src/dist/mpi_group.cpp src/dist/gradient_reducer.cpp)
