# The embedded exposition server (src/server) and the HTTP middleware's
# libmicrohttpd adapter (src/http) need libmicrohttpd; gzip needs zlib.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
list(APPEND SONDE_DEP_TARGETS PkgConfig::MHD PkgConfig::ZLIB)
string(APPEND SONDE_PKG_REQUIRES " libmicrohttpd zlib")
