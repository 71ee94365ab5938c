# What libsonde-otlp needs: libcurl for OTLP/HTTP and zlib for gzip bodies.
# Linked by full paths, as deps-http.cmake explains; pkg-config users get them
# through sonde-otlp.pc's Requires.private.
pkg_check_modules(CURL REQUIRED libcurl)
pkg_check_modules(ZLIB REQUIRED zlib)
set(SONDE_OTLP_INCLUDE_DIRS ${CURL_INCLUDE_DIRS} ${ZLIB_INCLUDE_DIRS})
set(SONDE_OTLP_DEP_LIBS ${CURL_LINK_LIBRARIES} ${ZLIB_LINK_LIBRARIES})
set(SONDE_OTLP_PKG_REQUIRES "libcurl zlib")
