# public-archive.cmake - the static libraries sonde installs define no global name but sonde_*.
#
# Objects are compiled with hidden visibility, so the shared libraries export only the API; an
# archive of the same objects would still define every internal function (llm_record,
# body_write, hc_perform, ...) as a global symbol, free to collide with a function of the
# program that links it. sonde_public_archive() therefore builds each installed archive from
# ONE relocatable object: the library's objects linked together (`ld -r`, which resolves
# the references between them), then every hidden symbol made local
# (`objcopy --localize-hidden`). What stays global is what carries default visibility:
# SONDE_API (and libsonde's SONDE_INTERNAL sonde_internal_*), as in the shared libraries;
# tests/integration/test_symbols.sh checks it. The sources keep their names, and so do the
# local symbols and the debug information: debuggers, backtraces and sanitizers see them.
#
# One member means a static link takes the whole library; the objects are compiled with
# -ffunction-sections -fdata-sections (CMakeLists.txt), so a program linked with
# -Wl,--gc-sections still drops the functions it does not reach.
#
# The in-tree archives (sonde_static, sonde_http_static, ...: the tests, benchmarks and
# gateway reach internal functions through src/core/internal.h) are the plain archives of
# the same objects, written to internal/ of the build directory and never installed.

if(NOT CMAKE_LINKER OR NOT CMAKE_OBJCOPY)
  message(FATAL_ERROR "ld and objcopy (binutils) build the installed static libraries")
endif()

# sonde_public_archive(TARGET OBJECTS OUTPUT_NAME EXPORT_NAME): the STATIC library TARGET,
# lib<OUTPUT_NAME>.a in the build directory, of object library OBJECTS, installed and
# exported as sonde::<EXPORT_NAME>.
function(sonde_public_archive target objects output_name export_name)
  set(dir ${CMAKE_BINARY_DIR}/public-archive)
  set(linked ${dir}/${output_name}-linked.o)
  set(local ${dir}/${output_name}.o)
  add_custom_command(OUTPUT ${local}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_LINKER} -r -o ${linked} $<TARGET_OBJECTS:${objects}>
    COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${linked} ${local}
    DEPENDS $<TARGET_OBJECTS:${objects}>
    COMMENT "Linking ${output_name}.o and making its hidden symbols local"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_library(${target} STATIC ${local})
  add_dependencies(${target} ${objects}) # the objects are compiled first, and again on a change
  set_source_files_properties(${local} PROPERTIES EXTERNAL_OBJECT ON GENERATED ON)
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${output_name}
    EXPORT_NAME ${export_name} LINKER_LANGUAGE C)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()
