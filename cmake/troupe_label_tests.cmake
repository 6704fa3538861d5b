# Run with `cmake -P` after a test executable is built (troupe_add_test):
# writes CTEST_FILE, which labels each TEST_CASE of TEST_EXECUTABLE for
# CTest: integration when it is tagged [integration], else unit. (CTest adds
# to a test's labels rather than replacing them, so catch_discover_tests
# gives these tests none.)
cmake_minimum_required(VERSION 3.25)
function(list_tests spec out)
  execute_process(
    COMMAND "${TEST_EXECUTABLE}" ${spec} --list-test-names-only
    OUTPUT_VARIABLE names
    RESULT_VARIABLE result)
  # Catch exits with the number of tests it listed.
  if(NOT result MATCHES "^[0-9]+$")
    message(FATAL_ERROR "cannot list the tests of ${TEST_EXECUTABLE}: ${result}")
  endif()
  # Brackets and semicolons in names would break CMake's lists: carried
  # as placeholders until the names are written out.
  string(REPLACE "[" "<troupe-lb>" names "${names}")
  string(REPLACE "]" "<troupe-rb>" names "${names}")
  string(REPLACE ";" "<troupe-sc>" names "${names}")
  string(REPLACE "\n" ";" names "${names}")
  list(REMOVE_ITEM names "")
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

list_tests("" all)
list_tests("[integration]" tagged)
set(script "")
foreach(name IN LISTS all)
  set(label unit)
  list(FIND tagged "${name}" at)
  if(at GREATER -1)
    set(label integration)
  endif()
  string(APPEND script "set_tests_properties([==[${name}]==] PROPERTIES LABELS ${label})\n")
endforeach()
string(REPLACE "<troupe-lb>" "[" script "${script}")
string(REPLACE "<troupe-rb>" "]" script "${script}")
string(REPLACE "<troupe-sc>" ";" script "${script}")
file(WRITE "${CTEST_FILE}" "${script}")
