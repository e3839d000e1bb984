# One INTERFACE target carries the warning flags (HighFive-style); every mpiprep target links it.
add_library(mpiprep_warnings INTERFACE)
target_compile_options(mpiprep_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
    -Wimplicit-fallthrough -Wno-missing-field-initializers>)
if(MPIPREP_WERROR)
  target_compile_options(mpiprep_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()

add_library(mpiprep_sanitize INTERFACE)
if(MPIPREP_SANITIZE)
  target_compile_options(mpiprep_sanitize INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(mpiprep_sanitize INTERFACE -fsanitize=address,undefined)
endif()
