# What libsonde-otlp needs: libcurl for OTLP/HTTP and libdeflate for gzip bodies (1.6x
# zlib's speed at level 1 on a 12 MB metrics request; src/otlp/transport.c).
# Linked by full paths, as deps-http.cmake explains; pkg-config users get them
# through sonde-otlp.pc's Requires.private.
pkg_check_modules(CURL REQUIRED libcurl)
pkg_check_modules(DEFLATE REQUIRED libdeflate)
set(SONDE_OTLP_INCLUDE_DIRS ${CURL_INCLUDE_DIRS} ${DEFLATE_INCLUDE_DIRS})
set(SONDE_OTLP_DEP_LIBS ${CURL_LINK_LIBRARIES} ${DEFLATE_LINK_LIBRARIES})
set(SONDE_OTLP_PKG_REQUIRES "libcurl libdeflate")
