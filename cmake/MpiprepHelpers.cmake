# mpiprep_add_module(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
#   A static library mpiprep_<name> (alias mpiprep::<name>) with include/ as its public
#   include directory. A module without sources yet is an INTERFACE library.
function(mpiprep_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target mpiprep_${name})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
      mpiprep_warnings mpiprep_sanitize)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(mpiprep::${name} ALIAS ${target})
endfunction()

# mpiprep_add_test(<name> SOURCES ... [DEPS ...] [LABELS ...] [MPI_RANKS 1 2 4])
#   A GoogleTest executable. Without MPI_RANKS: one CTest test, run directly (gtest_main
#   unless the sources define main). With MPI_RANKS: one CTest test per rank count, run as
#   `mpiexec -n N --oversubscribe <exe>`; the sources provide main (see tests/mpi_main.cpp).
function(mpiprep_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;MPI_RANKS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
    ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    MPIPREP_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    MPIPREP_BINARY_DIR="${PROJECT_BINARY_DIR}")
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock
    mpiprep_warnings mpiprep_sanitize)
  if(ARG_MPI_RANKS)
    foreach(n ${ARG_MPI_RANKS})
      add_test(NAME ${name}.np${n}
        COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --oversubscribe
                ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
      set_tests_properties(${name}.np${n} PROPERTIES LABELS "mpi;${ARG_LABELS}"
        PROCESSORS ${n} TIMEOUT 300
        ENVIRONMENT "${MPIPREP_MPI_TEST_ENV};GTEST_COLOR=no")
    endforeach()
  else()
    target_link_libraries(${name} PRIVATE GTest::gtest_main)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT 300)
  endif()
endfunction()

# Environment of every MPI test: Open MPI as root (containers, CI) over shared memory.
set(MPIPREP_MPI_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_pml=ob1;OMPI_MCA_btl=self,vader")

# mpiprep_add_script_test(<name> SCRIPT <file.py> [MPI] [SYSTEM_PYTHON] [WORK <dir>]
#                         [ARGS ...] [LABELS ...] [PROCESSORS <n>] [TIMEOUT <s>])
#   A Python test that drives the mpiprep binary from outside (tests/common/mpiprep_testlib.py):
#   `python3 <file.py> --mpiprep <mpiprep> [--mpiexec <mpiexec>] --data tests/data --work <dir>
#   ARGS...`, <dir> defaulting to <name>_work in the current binary directory. MPI passes
#   --mpiexec and the MPI environment (oversubscription allowed); SYSTEM_PYTHON runs Debian's
#   /usr/bin/python3, where python3-h5py lives (a pyenv shim may lack it).
function(mpiprep_add_script_test name)
  cmake_parse_arguments(ARG "MPI;SYSTEM_PYTHON" "SCRIPT;WORK;PROCESSORS;TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(ARG_SYSTEM_PYTHON)
    find_program(MPIPREP_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
    if(NOT MPIPREP_SYSTEM_PYTHON3)
      find_program(MPIPREP_SYSTEM_PYTHON3 python3 REQUIRED)
    endif()
    set(python ${MPIPREP_SYSTEM_PYTHON3})
  else()
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    set(python ${Python3_EXECUTABLE})
  endif()
  if(NOT ARG_WORK)
    set(ARG_WORK ${CMAKE_CURRENT_BINARY_DIR}/${name}_work)
  endif()
  set(mpi_args "")
  set(env ${MPIPREP_MPI_TEST_ENV})
  set(labels ${ARG_LABELS})
  if(ARG_MPI)
    set(mpi_args --mpiexec ${MPIEXEC_EXECUTABLE})
    list(APPEND env OMPI_MCA_rmaps_base_oversubscribe=1)
    list(APPEND labels mpi)
  endif()
  add_test(NAME ${name}
    COMMAND ${python} ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_SCRIPT} --mpiprep $<TARGET_FILE:mpiprep>
            ${mpi_args} --data ${PROJECT_SOURCE_DIR}/tests/data --work ${ARG_WORK} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "${env}")
  if(ARG_PROCESSORS)
    set_tests_properties(${name} PROPERTIES PROCESSORS ${ARG_PROCESSORS})
  endif()
endfunction()
