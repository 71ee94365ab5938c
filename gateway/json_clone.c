/*
 * json_clone.c - a deep copy of a JSON value for handing it to another owner
 * (gateway.h, gw_json_clone).
 *
 * jansson's json_deep_copy() guards against reference loops: for every
 * object and array it formats the container's address with snprintf() into
 * a key of a hash table of the containers being copied, which costs more
 * than copying a small container itself. The gateway's values are trees
 * (parsed requests and answers, or built by the gateway, never made to
 * contain themselves), so this copy walks them without that bookkeeping:
 * the same values and key order, sharing nothing but jansson's immortal
 * true/false/null, so the copy's reference counts are its owner's alone.
 * Depth is bounded by what made the value (requests are parsed with
 * max_json_depth).
 */
#include "gateway.h"

json_t *gw_json_clone(const json_t *v)
{
    if (!v) return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            if (!o || json_object_set_new_nocheck(o, k, gw_json_clone(e)) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case JSON_ARRAY: {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!a || json_array_append_new(a, gw_json_clone(e)) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
    case JSON_TRUE:
        return json_true();
    case JSON_FALSE:
        return json_false();
    case JSON_NULL:
        return json_null();
    }
    return NULL;
}
