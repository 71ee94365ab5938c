# The embedded exposition server (src/server) and the HTTP middleware's
# libmicrohttpd adapter (src/http) need libmicrohttpd; gzip needs zlib.
# The libraries are linked by their full paths rather than as PkgConfig::
# imported targets, so that the exported CMake package (sondeConfig.cmake)
# works for users without defining those targets; pkg-config users get them
# through Requires.private.
pkg_check_modules(MHD REQUIRED libmicrohttpd)
pkg_check_modules(ZLIB REQUIRED zlib)
include_directories(${MHD_INCLUDE_DIRS} ${ZLIB_INCLUDE_DIRS})
list(APPEND SONDE_DEP_TARGETS ${MHD_LINK_LIBRARIES} ${ZLIB_LINK_LIBRARIES})
string(APPEND SONDE_PKG_REQUIRES " libmicrohttpd zlib")
