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
        ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_pml=ob1;OMPI_MCA_btl=self,vader;GTEST_COLOR=no")
    endforeach()
  else()
    target_link_libraries(${name} PRIVATE GTest::gtest_main)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT 300)
  endif()
endfunction()
