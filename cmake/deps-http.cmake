# What libsonde-http needs: libmicrohttpd for the embedded server (src/server)
# and the middleware's adapter (src/http), zlib for gzip. libmicrohttpd brings
# GnuTLS for the server's TLS. jansson parses the console's alert rules. The
# libraries are linked by their full paths rather than as PkgConfig:: imported targets, so that the exported CMake
# package (sondeConfig.cmake) works for users without defining those targets;
# pkg-config users get them through sonde-http.pc's Requires.private.
pkg_check_modules(MHD REQUIRED libmicrohttpd)
pkg_check_modules(ZLIB REQUIRED zlib)
pkg_check_modules(JANSSON REQUIRED jansson) # the console's alert rules file
set(SONDE_HTTP_INCLUDE_DIRS ${MHD_INCLUDE_DIRS} ${ZLIB_INCLUDE_DIRS} ${JANSSON_INCLUDE_DIRS})
set(SONDE_HTTP_DEP_LIBS ${MHD_LINK_LIBRARIES} ${ZLIB_LINK_LIBRARIES} ${JANSSON_LINK_LIBRARIES})
set(SONDE_HTTP_PKG_REQUIRES "libmicrohttpd zlib jansson")
