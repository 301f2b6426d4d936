# The HTML report: data collection, SVG charts, page rendering.
list(APPEND CONVKIT_SOURCES src/report/collect.cpp src/report/html.cpp src/report/render.cpp src/report/svg_chart.cpp)
