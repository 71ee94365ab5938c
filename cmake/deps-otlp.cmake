# What libsonde-otlp, sonde's exporter library, needs: libcurl for every sender
# (OTLP/HTTP, Pushgateway, remote write), libdeflate for gzip bodies (1.6x zlib's
# speed at level 1 on a 12 MB metrics request; src/otlp/transport.c) and libsnappy
# for remote-write bodies, jansson for the alert webhook's payload. Linked by
# full paths, as deps-http.cmake explains; pkg-config users get them through sonde-otlp.pc's Requires.private.
pkg_check_modules(CURL REQUIRED libcurl)
pkg_check_modules(DEFLATE REQUIRED libdeflate)
pkg_check_modules(SNAPPY REQUIRED snappy)
pkg_check_modules(JANSSON REQUIRED jansson) # the alert webhook's JSON payload
set(SONDE_OTLP_INCLUDE_DIRS ${CURL_INCLUDE_DIRS} ${DEFLATE_INCLUDE_DIRS} ${SNAPPY_INCLUDE_DIRS}
    ${JANSSON_INCLUDE_DIRS})
set(SONDE_OTLP_DEP_LIBS ${CURL_LINK_LIBRARIES} ${DEFLATE_LINK_LIBRARIES} ${SNAPPY_LINK_LIBRARIES}
    ${JANSSON_LINK_LIBRARIES})
set(SONDE_OTLP_PKG_REQUIRES "libcurl libdeflate snappy jansson")
