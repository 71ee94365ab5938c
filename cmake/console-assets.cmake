# The console's pages, embedded in libsonde-http (src/console/asset.h): the files of
# src/console/assets/ and Debian's dygraphs (package libjs-dygraphs, a build dependency in
# scripts/deps.sh) go through the generator src/console/embed/embed_assets.c, built for the
# build machine, into ${CMAKE_BINARY_DIR}/console/assets.c (the bytes, their gzip, content
# types, ETags). The output is remade when any input changes.
set(SONDE_DYGRAPHS_DIR /usr/share/javascript/dygraphs CACHE PATH "Where libjs-dygraphs is installed")
foreach(f dygraph.min.js dygraph.min.css)
  if(NOT EXISTS ${SONDE_DYGRAPHS_DIR}/${f})
    message(FATAL_ERROR "${SONDE_DYGRAPHS_DIR}/${f} is missing: install libjs-dygraphs (scripts/deps.sh build)")
  endif()
endforeach()
file(GLOB SONDE_CONSOLE_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/console/assets/*)
set(SONDE_CONSOLE_ASSET_ARGS "")
set(SONDE_CONSOLE_ASSET_FILES "")
foreach(f ${SONDE_CONSOLE_PAGES} ${SONDE_DYGRAPHS_DIR}/dygraph.min.js ${SONDE_DYGRAPHS_DIR}/dygraph.min.css)
  get_filename_component(n ${f} NAME)
  list(APPEND SONDE_CONSOLE_ASSET_ARGS "${n}=${f}")
  list(APPEND SONDE_CONSOLE_ASSET_FILES ${f})
endforeach()
add_executable(sonde_embed_assets src/console/embed/embed_assets.c)
target_include_directories(sonde_embed_assets PRIVATE ${ZLIB_INCLUDE_DIRS})
target_link_libraries(sonde_embed_assets PRIVATE ${ZLIB_LINK_LIBRARIES})
set(SONDE_CONSOLE_ASSETS_C ${CMAKE_BINARY_DIR}/console/assets.c)
add_custom_command(OUTPUT ${SONDE_CONSOLE_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/console
  COMMAND sonde_embed_assets ${SONDE_CONSOLE_ASSETS_C} ${SONDE_CONSOLE_ASSET_ARGS}
  DEPENDS sonde_embed_assets ${SONDE_CONSOLE_ASSET_FILES}
  COMMENT "Embedding the console's pages"
  VERBATIM)
