# troupe_add_component(NAME n SOURCES ... DEPS ...)
#   a static library `troupe_<n>` whose headers are included as "<folder>/x.hpp"
#   from the source root; our warnings are errors.
# troupe_add_test(NAME n SOURCES ... DEPS ... [LABELS unit|integration])
#   a Catch2 executable registered with CTest (one CTest entry per TEST_CASE).
#   LABELS integration: the executable holds tests that start real processes
#   or servers; those TEST_CASEs carry the [integration] tag and get the
#   CTest label integration, its other TEST_CASEs get unit.
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
  if(NOT T_LABELS STREQUAL "integration")
    catch_discover_tests(${T_NAME}
      PROPERTIES LABELS "${T_LABELS}"
      EXTRA_ARGS --use-colour no --warn NoTests)
    return()
  endif()
  catch_discover_tests(${T_NAME}
    EXTRA_ARGS --use-colour no --warn NoTests)
  # Then, read by CTest after the file above, each test's label.
  set(labels "${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels.cmake")
  add_custom_command(TARGET ${T_NAME} POST_BUILD
    BYPRODUCTS "${labels}"
    COMMAND "${CMAKE_COMMAND}" -D "TEST_EXECUTABLE=$<TARGET_FILE:${T_NAME}>"
            -D "CTEST_FILE=${labels}" -P "${PROJECT_SOURCE_DIR}/cmake/troupe_label_tests.cmake"
    VERBATIM)
  set(include "${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels_include.cmake")
  file(WRITE "${include}" "if(EXISTS \"${labels}\")\n  include(\"${labels}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include}")
endfunction()

function(troupe_add_bench NAME)
  add_executable(${NAME} ${ARGN})
  troupe_warnings(${NAME})
endfunction()
