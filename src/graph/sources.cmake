list(APPEND CONVKIT_SOURCES src/graph/graph.cpp src/graph/memory_planner.cpp src/graph/param_store.cpp src/graph/plan.cpp src/graph/fusion.cpp)
