#!/usr/bin/env python3
"""native_quantile.py PREV CUR FAMILY Q [Q...] - quantiles of a native histogram
family between two protobuf scrapes (application/vnd.google.protobuf;
proto=io.prometheus.client.MetricFamily; encoding=delimited), as
histogram_quantile(q, sum(increase(FAMILY[...]))) would give them: every series
of the family summed at the lowest schema, PREV subtracted from CUR, the rank
found and interpolated linearly inside its bucket (Prometheus 2.42's way).
Prints "schema S count N" and then one value per quantile (seconds, or "-"), or
"none" when the family has no native buckets. Used by scripts/demo.sh; reads
only what sonde writes, and stops at anything it does not understand."""
import math
import struct
import sys


def varint(b, i):
    v = shift = 0
    while True:
        if i >= len(b) or shift > 63:
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field, wire type, value) of one message; length-delimited values as bytes."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        elif w == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % w)
        yield f, w, v


def zigzag(v):
    return (v >> 1) ^ -(v & 1)


def native(h):
    """{schema, zero, pos{index: count}, neg{index: count}} of a Histogram message, or None."""
    schema, zero, spans, deltas, native_seen = 0, 0, {9: [], 12: []}, {10: [], 13: []}, False
    for f, w, v in fields(h):
        if f == 5:
            schema, native_seen = zigzag(v), True
        elif f == 7:
            zero = v
        elif f in spans:
            off = length = 0
            for sf, _, sv in fields(v):
                off, length = (zigzag(sv), length) if sf == 1 else (off, sv) if sf == 2 else (off, length)
            spans[f].append((off, length))
        elif f in deltas:
            deltas[f].extend([zigzag(v)] if w == 0 else [])
    if not native_seen:
        return None
    out = {"schema": schema, "zero": zero}
    for name, sf, df in (("pos", 12, 13), ("neg", 9, 10)):
        buckets, idx, k, count = {}, 0, 0, 0
        for off, length in spans[sf]:
            idx += off
            for _ in range(length):
                count += deltas[df][k]
                k += 1
                if count:
                    buckets[idx] = count
                idx += 1
        out[name] = buckets
    return out


def family_sum(path, family):
    data = open(path, "rb").read()
    i, total = 0, None
    while i < len(data):
        n, i = varint(data, i)
        msg, i = data[i:i + n], i + n
        name, metrics = None, []
        for f, _, v in fields(msg):
            if f == 1:
                name = v.decode()
            elif f == 4:
                metrics.append(v)
        if name != family:
            continue
        for m in metrics:
            for f, _, v in fields(m):
                h = native(v) if f == 7 else None
                if h:
                    total = h if total is None else merge(total, h)
    return total


def down(buckets, k):
    out = {}
    for i, c in buckets.items():
        j = (i + (1 << k) - 1) >> k
        out[j] = out.get(j, 0) + c
    return out


def merge(a, b):
    s = min(a["schema"], b["schema"])
    r = {"schema": s, "zero": a["zero"] + b["zero"]}
    for side in ("pos", "neg"):
        x, y = down(a[side], a["schema"] - s), down(b[side], b["schema"] - s)
        r[side] = {i: x.get(i, 0) + y.get(i, 0) for i in set(x) | set(y)}
    return r


def main():
    prev, cur = family_sum(sys.argv[1], sys.argv[3]), family_sum(sys.argv[2], sys.argv[3])
    if cur is None:
        print("none")
        return
    if prev is not None:
        s = min(prev["schema"], cur["schema"])
        p, c = merge(prev, {"schema": s, "zero": 0, "pos": {}, "neg": {}}), merge(cur, {"schema": s, "zero": 0, "pos": {}, "neg": {}})
        cur = {"schema": s, "zero": c["zero"] - p["zero"]}
        for side in ("pos", "neg"):
            cur[side] = {i: n - p[side].get(i, 0) for i, n in c[side].items() if n - p[side].get(i, 0) > 0}
    base = 2.0 ** (2.0 ** -cur["schema"])
    order = [(-(base ** i), -(base ** (i - 1)), n) for i, n in sorted(cur["neg"].items(), reverse=True)]
    order += [(0.0, 0.0, cur["zero"])] if cur["zero"] > 0 else []
    order += [(base ** (i - 1), base ** i, n) for i, n in sorted(cur["pos"].items())]
    total = sum(n for _, _, n in order)
    print("schema %d count %d" % (cur["schema"], total))
    for q in sys.argv[4:]:
        rank, seen, out = float(q) * total, 0, "-"
        for lo, hi, n in order:
            if total and seen + n >= rank:
                out = "%.6g" % (lo + (hi - lo) * (rank - seen) / n)
                break
            seen += n
        print(out)


if __name__ == "__main__":
    main()
