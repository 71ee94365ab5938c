/*
 * sonde/export.h - SONDE_API, the mark of every public function and object.
 *
 * libsonde and libsonde-http are compiled with -fvisibility=hidden and linked
 * with a version script (cmake/sonde.map), so that a shared library exports
 * nothing but what the headers declare with SONDE_API: the sonde_* functions
 * and the SONDE_BUCKETS_* presets. Every other function of the library stays
 * private to it and can never clash with a host's symbols. A program never
 * needs to define SONDE_API itself; a build that wants something else (an
 * empty mark, say) may define it before including a sonde header.
 */
#ifndef SONDE_EXPORT_H
#define SONDE_EXPORT_H

#ifndef SONDE_API
#if defined(__GNUC__) || defined(__clang__)
#define SONDE_API __attribute__((visibility("default")))
#else
#define SONDE_API
#endif
#endif

#endif
