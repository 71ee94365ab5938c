/*
 * render.h - state of one exposition render, shared by the family renderer
 * (expose.c) and the custom-collector emitter (emit.c).
 */
#ifndef SONDE_RENDER_H
#define SONDE_RENDER_H

#include "writer.h"


/* Where collectors' families go instead of text (the OTLP metrics encoder): family() at each
 * family a collector opens (name without the type's suffix), sample() at each of its samples
 * (suffix as given, NULL for the type's plain sample), both validated as for the text. */
typedef struct sonde_render_sink {
    void (*family)(void *ud, const char *name, const char *help, sonde_type type, const char *unit);
    void (*sample)(void *ud, const char *suffix, const sonde_label *labels, size_t n, double value);
    void *ud;
} sonde_render_sink;

typedef struct sonde_render {
    sonde_out out;
    const sonde_render_sink *sink; /* set: collectors write here, not to out */
    int openmetrics;
    int protobuf;         /* the delimited protobuf format (expose_pb.c) */
    const sonde_config *cfg; /* the registry's: global labels for protobuf */
    sonde_buf pb;         /* protobuf: the MetricFamily being built */
    int pb_open;          /* protobuf: a collector's family is open in pb */
    sonde_type pb_type;
    sonde_native_snap snap; /* the current native histogram's buckets */
    const char *global;   /* rendered global labels, or NULL */
    size_t global_len;
    char *scratch;        /* the current child's rendered labels */
    size_t scratch_len, scratch_cap;
    int scratch_err;
    char **emitted;       /* family names collectors wrote in this render */
    size_t emitted_count, emitted_cap;
    sonde_family **fams;  /* the registry's families when the render began, referenced */
    size_t fam_count;
    double values[SONDE_MAX_BUCKETS + 2]; /* the current child's cell values */
    uint32_t exemplar_cell; /* OpenMetrics: the next sample line ends with this cell's
                               exemplar, if it has one (0: no exemplar) */
    /* measured once per family (expose.c), not once per line */
    size_t name_len;                        /* the family's name */
    size_t label_len[SONDE_MAX_LABELS];     /* its label names */
    size_t label_len_sum;
    size_t bound_len[SONDE_MAX_BUCKETS];    /* its bucket bounds as text */
} sonde_render;

/* "# HELP", "# TYPE" and "# UNIT" lines of a family in the render's format. */
void sonde_render_header(sonde_render *r, const char *name, const char *help, sonde_type type,
                         const char *unit);

/* Start the current series' labels with the global labels. */
void sonde_render_labels_begin(sonde_render *r);
/* Append one label (value escaped) to the current series' labels. */
void sonde_render_label(sonde_render *r, const char *name, const char *value, size_t len);

/* One sample line: name suffix {labels[,xname="xvalue"]} value. xvalue is written as is. */
void sonde_render_sample(sonde_render *r, const char *name, const char *suffix, const char *xname,
                         const char *xvalue, double value);

/* expose_pb.c: one registered family as a delimited MetricFamily; a collector's family
 * (name already suffixed as the sample is named) opened, its samples, and closing it (a
 * no-op when none is open). */
void sonde_pb_render_family(sonde_render *r, sonde_family *f);
void sonde_pb_family_begin(sonde_render *r, const char *name, const char *help, sonde_type type);
void sonde_pb_emit_sample(sonde_render *r, const sonde_label *labels, size_t n, double value);
void sonde_pb_family_end(sonde_render *r);

/* " # {trace_id=\"...\",span_id=\"...\"} value timestamp" when cell has an exemplar
 * (expose_exemplar.c). */
void sonde_render_exemplar(sonde_render *r, uint32_t cell);

/* Run the registry's collectors into the render, under the collector lock (emit.c). */
void sonde_render_collectors(sonde_render *r, sonde_registry *reg);
/* Run them into a sink instead; fams[0..n) are the families already written (their names
 * are refused to collectors). SONDE_OK, or SONDE_ENOMEM when a family could not be
 * recorded (the sink's output is then incomplete). */
int sonde_collectors_to_sink(sonde_registry *reg, sonde_family *const *fams, size_t n,
                             const sonde_render_sink *sink);

#endif
