# troupe_add_component(NAME n SOURCES ... DEPS ...)
#   a static library `troupe_<n>` whose headers are included as "<folder>/x.hpp"
#   from the source root; our warnings are errors.
# troupe_add_test(NAME n SOURCES ... DEPS ... [LABELS ...])
#   a Catch2 executable registered with CTest (one CTest entry per TEST_CASE).
function(troupe_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

function(troupe_add_component)
  cmake_parse_arguments(C "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(troupe_${C_NAME} STATIC ${C_SOURCES})
  target_include_directories(troupe_${C_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(troupe_${C_NAME} PUBLIC ${C_DEPS})
  troupe_warnings(troupe_${C_NAME})
endfunction()

function(troupe_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE troupe_catch_main ${T_DEPS})
  troupe_warnings(${T_NAME})
  catch_discover_tests(${T_NAME}
    PROPERTIES LABELS "${T_LABELS}"
    EXTRA_ARGS --use-colour no --warn NoTests)
endfunction()

function(troupe_add_bench NAME)
  add_executable(${NAME} ${ARGN})
  troupe_warnings(${NAME})
endfunction()
