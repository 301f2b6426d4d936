# tune/: hyperparameter search over run::train — the search space, the searchers (random, TPE),
# the study in SQLite shared by worker processes, and the tuner's loop.
list(APPEND CONVKIT_SOURCES src/tune/space.cpp src/tune/searcher.cpp src/tune/study.cpp src/tune/study_sqlite.cpp src/tune/study_postgres.cpp src/tune/spec.cpp
     src/tune/tuner.cpp src/tune/report.cpp)
