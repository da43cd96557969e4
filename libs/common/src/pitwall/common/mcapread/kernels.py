"""Compiled kernels: the MCAP record scan and the protobuf wire-format decode.

Per-message Python is what makes plain readers slow, so every loop that runs once per
record or per field lives here, compiled by numba (`cache=True`: later processes load
the machine code instead of compiling; `nogil=True`: the decode runs on several
threads). Explicit signatures make numba compile (or load the cache) when this module
is imported, which the reader does in a background thread while it does I/O.

Every read is checked by hand against the end of the region it belongs to (numba does
not check bounds): the input is untrusted, damaged files must not crash the process.
All offsets and lengths handed in are already validated against the buffer size.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from pitwall.common.mcapread.consts import (
    ACT_NESTED,
    ACT_REPEATED,
    ACT_SCALAR,
    ACT_STRING,
    E_ACT,
    E_BASE,
    E_CHILD,
    E_ENUM_HI,
    E_ENUM_LO,
    E_FNUM,
    E_ONEOF,
    E_PTYPE,
    E_REPCOL,
    E_UTF8,
    E_W,
    E_WT,
    MAX_DEPTH,
    MAX_GROUP_DEPTH,
    REPORT_AND_STOP,
    ST_BAD_OPCODE,
    ST_LONG_RECORD,
    ST_OK,
    ST_SHORT_HEADER,
    ST_STOPPED,
    T_BOOL,
    T_DOUBLE,
    T_ENUM,
    T_FIXED32,
    T_FLOAT,
    T_INT32,
    T_INT64,
    T_SFIXED32,
    T_SFIXED64,
    T_SINT32,
    T_SINT64,
    T_UINT32,
)

_M32 = np.uint64(0xFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_SEVEN = np.uint64(7)

# ---------------------------------------------------------------------------------------
# Types of the signatures.

_u8c = types.Array(types.uint8, 1, "C")
_u8ro = types.Array(types.uint8, 1, "C", readonly=True)
_u16c = types.Array(types.uint16, 1, "C")
_i8c = types.Array(types.int8, 1, "C")
_i32c = types.Array(types.int32, 1, "C")
_i64c = types.Array(types.int64, 1, "C")
_u32c = types.Array(types.uint32, 1, "C")
_u64c = types.Array(types.uint64, 1, "C")
_f64c = types.Array(types.float64, 1, "C")
_i64_2d = types.Array(types.int64, 2, "C")
_i32_2d = types.Array(types.int32, 2, "C")

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(cache=True, nogil=True)
def _u16(buf, p):  # type: ignore[no-untyped-def]
    return np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)


@njit(cache=True, nogil=True)
def _u32(buf, p):  # type: ignore[no-untyped-def]
    return (
        np.uint64(buf[p])
        | (np.uint64(buf[p + 1]) << np.uint64(8))
        | (np.uint64(buf[p + 2]) << np.uint64(16))
        | (np.uint64(buf[p + 3]) << np.uint64(24))
    )


@njit(cache=True, nogil=True)
def _u64(buf, p):  # type: ignore[no-untyped-def]
    return _u32(buf, p) | (_u32(buf, p + 4) << np.uint64(32))


# ---------------------------------------------------------------------------------------
# Record scan.


@njit(
    types.UniTuple(types.int64, 3)(
        _u8ro,
        _i64c,
        _i64c,
        _u8c,
        types.boolean,
        _u16c,
        _i64c,
        _i64c,
        _i64c,
        _u8c,
        _i64c,
        _i64c,
        _i32c,
        _i64c,
        _i8c,
    ),
    **_JIT,
)
def scan_spans(  # type: ignore[no-untyped-def]
    buf,
    span_lo,
    span_hi,
    report,
    fill,
    m_chan,
    m_time,
    m_off,
    m_len,
    o_op,
    o_pos,
    o_len,
    o_span,
    span_stop,
    span_status,
):
    """Walk the records of each span [lo, hi) of `buf`.

    Messages go to the m_* arrays (channel, log time, data offset, data length);
    records whose opcode has a non-zero `report` entry go to the o_* arrays (opcode,
    record offset, body length, span). With `fill` false only counts. Returns
    (messages, reported records, message records too short to hold a header).
    """
    size = buf.shape[0]
    n_msg = 0
    n_oth = 0
    n_short = 0
    for s in range(span_lo.shape[0]):
        pos = span_lo[s]
        hi = min(span_hi[s], size)
        status = ST_OK
        while pos < hi:
            if hi - pos < 9:
                status = ST_SHORT_HEADER
                break
            op = buf[pos]
            length = _u64(buf, pos + 1)
            if length > np.uint64(hi - pos - 9):
                status = ST_LONG_RECORD
                break
            if op == 0:
                status = ST_BAD_OPCODE
                break
            n = np.int64(length)
            body = pos + 9
            if op == 5:
                if n >= 22:
                    if fill:
                        m_chan[n_msg] = np.uint16(_u16(buf, body))
                        m_time[n_msg] = np.int64(_u64(buf, body + 6))
                        m_off[n_msg] = body + 22
                        m_len[n_msg] = n - 22
                    n_msg += 1
                else:
                    n_short += 1
            elif report[op] != 0:
                if fill:
                    o_op[n_oth] = op
                    o_pos[n_oth] = pos
                    o_len[n_oth] = n
                    o_span[n_oth] = s
                n_oth += 1
                if report[op] == REPORT_AND_STOP:
                    pos = body + n
                    status = ST_STOPPED
                    break
            pos = body + n
        span_stop[s] = pos
        span_status[s] = status
    return n_msg, n_oth, n_short


@njit(types.int64(_u8ro, types.int64, types.int64, _u8c, types.int64, types.int64), **_JIT)
def resync(buf, start, end, known_chan, t_lo, t_hi):  # type: ignore[no-untyped-def]
    """First offset in [start, end) where a plausible chunk or message record starts.

    Used after damage: a chunk must have a consistent header (compression name and
    data length agreeing with the record length); a message must be on a known
    channel, have a log time in [t_lo, t_hi] and be followed by another plausible
    record header (or the end of the region). -1 if none.
    """
    p = start
    while p + 9 <= end:
        op = buf[p]
        if op == 6 or op == 5:
            length = _u64(buf, p + 1)
            if length <= np.uint64(end - p - 9):
                n = np.int64(length)
                q = p + 9
                if op == 6 and n >= 40:
                    cl = np.int64(_u32(buf, q + 28))
                    if (cl == 0 or cl == 3 or cl == 4) and 40 + cl <= n:
                        name_ok = True
                        if cl == 3:
                            name_ok = (
                                buf[q + 32] == 108 and buf[q + 33] == 122 and buf[q + 34] == 52
                            )
                        elif cl == 4:
                            name_ok = (
                                buf[q + 32] == 122
                                and buf[q + 33] == 115
                                and buf[q + 34] == 116
                                and buf[q + 35] == 100
                            )
                        if name_ok and _u64(buf, q + 32 + cl) == np.uint64(n - 40 - cl):
                            if _u64(buf, q) <= _u64(buf, q + 8):
                                return p
                elif op == 5 and n >= 22:
                    chan = _u16(buf, q)
                    t = np.int64(_u64(buf, q + 6))
                    if known_chan[chan] != 0 and t >= t_lo and t <= t_hi:
                        nxt = q + n
                        if nxt == end:
                            return p
                        if nxt + 9 <= end:
                            op2 = buf[nxt]
                            if 1 <= op2 <= 15 and _u64(buf, nxt + 1) <= np.uint64(end - nxt - 9):
                                return p
        p += 1
    return -1


@njit(types.void(_u8ro, _i64c, _i64c, _u8c, _i64c), **_JIT)
def gather_copy(src, off, length, dst, dst_off):  # type: ignore[no-untyped-def]
    """Copy src[off[i]:off[i]+length[i]] to dst[dst_off[i]:...] for every i."""
    for i in range(off.shape[0]):
        a = off[i]
        b = dst_off[i]
        for k in range(length[i]):
            dst[b + k] = src[a + k]


# ---------------------------------------------------------------------------------------
# Protobuf wire format.


@njit(cache=True, nogil=True)
def _varint(buf, pos, end):  # type: ignore[no-untyped-def]
    """(value, position after it); position -1 when the varint is cut or over 10 bytes."""
    result = _ZERO
    shift = _ZERO
    for _ in range(10):
        if pos >= end:
            return result, -1
        b = buf[pos]
        pos += 1
        result |= np.uint64(b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += _SEVEN
    return result, -1


@njit(cache=True, nogil=True)
def _skip_field(buf, pos, end, wt, fnum, gstack):  # type: ignore[no-untyped-def]
    """Position after a field's value of wire type `wt`; -1 if it does not fit."""
    if wt == 0:
        _, pos = _varint(buf, pos, end)
        return pos
    if wt == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wt == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wt == 2:
        ln, pos = _varint(buf, pos, end)
        if pos < 0 or ln > np.uint64(end - pos):
            return -1
        return pos + np.int64(ln)
    if wt == 3:
        # A group: skip fields until its end-group tag, minding nested groups.
        depth = 0
        gstack[0] = fnum
        while True:
            tag, pos = _varint(buf, pos, end)
            if pos < 0 or tag > _M32:
                return -1
            f = np.int64(tag >> np.uint64(3))
            w = np.int64(tag & _SEVEN)
            if f == 0:
                return -1
            if w == 4:
                if f != gstack[depth]:
                    return -1
                if depth == 0:
                    return pos
                depth -= 1
            elif w == 3:
                depth += 1
                if depth >= gstack.shape[0]:
                    return -1
                gstack[depth] = f
            elif w == 0:
                _, pos = _varint(buf, pos, end)
                if pos < 0:
                    return -1
            elif w == 1:
                if pos + 8 > end:
                    return -1
                pos += 8
            elif w == 5:
                if pos + 4 > end:
                    return -1
                pos += 4
            elif w == 2:
                ln, pos = _varint(buf, pos, end)
                if pos < 0 or ln > np.uint64(end - pos):
                    return -1
                pos += np.int64(ln)
            else:
                return -1
    return -1


@njit(cache=True, nogil=True)
def _utf8_ok(buf, i, end):  # type: ignore[no-untyped-def]
    """Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as upb."""
    while i < end:
        c = buf[i]
        if c < 0x80:
            i += 1
            continue
        if c < 0xC2:
            return False
        if c < 0xE0:
            if i + 1 >= end or (buf[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
            continue
        if c < 0xF0:
            if i + 2 >= end:
                return False
            c1 = buf[i + 1]
            if c == 0xE0:
                if c1 < 0xA0 or c1 > 0xBF:
                    return False
            elif c == 0xED:
                if c1 < 0x80 or c1 > 0x9F:
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            if (buf[i + 2] & 0xC0) != 0x80:
                return False
            i += 3
            continue
        if c < 0xF5:
            if i + 3 >= end:
                return False
            c1 = buf[i + 1]
            if c == 0xF0:
                if c1 < 0x90 or c1 > 0xBF:
                    return False
            elif c == 0xF4:
                if c1 < 0x80 or c1 > 0x8F:
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            if (buf[i + 2] & 0xC0) != 0x80 or (buf[i + 3] & 0xC0) != 0x80:
                return False
            i += 4
            continue
        return False
    return True


@njit(cache=True, nogil=True)
def _enum_known(enum_vals, lo, hi, bits):  # type: ignore[no-untyped-def]
    """Whether the int32 in the low bits of `bits` is a value of a closed enum."""
    v = np.int64(np.int32(np.uint32(bits & _M32)))
    a = lo
    b = hi
    while a < b:
        m = (a + b) >> 1
        x = enum_vals[m]
        if x == v:
            return True
        if x < v:
            a = m + 1
        else:
            b = m
    return False


@njit(cache=True, nogil=True)
def _scalar_bits(pt, wt, v):  # type: ignore[no-untyped-def]
    """The stored bit pattern of a scalar read as `v` (varint value or fixed bytes)."""
    if wt == 0:
        if pt == T_BOOL:
            return _ONE if v != _ZERO else _ZERO
        if pt == T_SINT32:
            n = v & _M32
            return ((n >> _ONE) ^ (_ZERO - (n & _ONE))) & _M32
        if pt == T_SINT64:
            return (v >> _ONE) ^ (_ZERO - (v & _ONE))
    return v


@njit(cache=True, nogil=True)
def _as_double(pt, bits, sc64, f64v, sc32, f32v):  # type: ignore[no-untyped-def]
    """A decoded scalar's stored bits as float64, for repeated fields (N x K double)."""
    if pt == T_DOUBLE:
        sc64[0] = bits
        return f64v[0]
    if pt == T_FLOAT:
        sc32[0] = np.uint32(bits & _M32)
        return np.float64(f32v[0])
    if pt == T_INT32 or pt == T_SINT32 or pt == T_SFIXED32 or pt == T_ENUM:
        return np.float64(np.int32(np.uint32(bits & _M32)))
    if pt == T_UINT32 or pt == T_FIXED32:
        return np.float64(np.uint32(bits & _M32))
    if pt == T_INT64 or pt == T_SINT64 or pt == T_SFIXED64:
        return np.float64(np.int64(bits))
    if pt == T_BOOL:
        return 1.0 if bits != _ZERO else 0.0
    return np.float64(bits)


@njit(cache=True, nogil=True)
def _read_scalar(buf, pos, end, wt):  # type: ignore[no-untyped-def]
    """Raw value of a varint / fixed64 / fixed32 field; position -1 if it does not fit."""
    if wt == 0:
        return _varint(buf, pos, end)
    if wt == 1:
        if pos + 8 > end:
            return _ZERO, -1
        return _u64(buf, pos), pos + 8
    if pos + 4 > end:
        return _ZERO, -1
    return _u32(buf, pos), pos + 4


_decode_sig = types.Tuple((types.int64, _i32c, _i32c, _f64c))(
    _u8ro,
    _i64c,
    _i64c,
    types.int64,
    types.int64,
    _i64_2d,
    _i64c,
    _i64c,
    _i64c,
    _u8c,
    _u32c,
    _u64c,
    _i32_2d,
    _u8c,
    types.int64,
)


@njit(_decode_sig, **_JIT)
def decode_messages(  # type: ignore[no-untyped-def]
    buf,
    moff,
    mlen,
    r0,
    r1,
    ent,
    node_lo,
    node_hi,
    enum_vals,
    out8,
    out32,
    out64,
    oneof_case,
    valid,
    rep_cap,
):
    """Decode rows r0..r1-1 (message i at buf[moff[i]:moff[i]+mlen[i]]) into columns.

    `ent` is the field table (one row per field of each unrolled message node, sorted
    by field number within a node: node n owns rows node_lo[n]..node_hi[n]-1). Scalars
    are stored at out{8,32,64}[base + row] by width; strings as (offset, length + 1)
    pairs in out64 (length 0 = absent); the last oneof member seen per row goes to
    oneof_case. A message that is not valid protobuf gets valid[row] = 0 and its
    repeated values are rolled back. Repeated numeric values come back as
    (count, row, column, value) arrays.
    """
    cap = max(rep_cap, 16)
    rep_row = np.empty(cap, np.int32)
    rep_col = np.empty(cap, np.int32)
    rep_val = np.empty(cap, np.float64)
    rep_n = 0
    st_node = np.empty(MAX_DEPTH, np.int64)
    st_end = np.empty(MAX_DEPTH, np.int64)
    st_hint = np.empty(MAX_DEPTH, np.int64)
    gstack = np.empty(MAX_GROUP_DEPTH, np.int64)
    sc64 = np.empty(1, np.uint64)
    f64v = sc64.view(np.float64)
    sc32 = np.empty(1, np.uint32)
    f32v = sc32.view(np.float32)

    for r in range(r0, r1):
        pos = moff[r]
        cur_end = pos + mlen[r]
        depth = 0
        node = 0
        hint = node_lo[0]
        ok = True
        rep_mark = rep_n
        while True:
            if pos >= cur_end:
                if pos > cur_end:
                    ok = False
                    break
                if depth == 0:
                    break
                depth -= 1
                node = st_node[depth]
                cur_end = st_end[depth]
                hint = st_hint[depth]
                continue
            tag, pos = _varint(buf, pos, cur_end)
            if pos < 0 or tag > _M32:
                ok = False
                break
            fnum = np.int64(tag >> np.uint64(3))
            wt = np.int64(tag & _SEVEN)
            if fnum == 0:
                ok = False
                break
            # Find the field: fields usually arrive in number order, so try the one
            # after the last match (and the last match itself, for repeats) first.
            lo = node_lo[node]
            hi = node_hi[node]
            e = -1
            if hint < hi and ent[hint, E_FNUM] == fnum:
                e = hint
            elif hint - 1 >= lo and ent[hint - 1, E_FNUM] == fnum:
                e = hint - 1
            else:
                a = lo
                b = hi
                while a < b:
                    m = (a + b) >> 1
                    x = ent[m, E_FNUM]
                    if x == fnum:
                        e = m
                        break
                    if x < fnum:
                        a = m + 1
                    else:
                        b = m
            if e >= 0:
                hint = e + 1
                act = ent[e, E_ACT]
                ewt = ent[e, E_WT]
                pt = ent[e, E_PTYPE]
                if act == ACT_REPEATED and wt == 2:
                    # Packed repeated scalars.
                    ln, pos = _varint(buf, pos, cur_end)
                    if pos < 0 or ln > np.uint64(cur_end - pos):
                        ok = False
                        break
                    sub_end = pos + np.int64(ln)
                    col = np.int32(ent[e, E_REPCOL])
                    elo = ent[e, E_ENUM_LO]
                    ehi = ent[e, E_ENUM_HI]
                    while pos < sub_end:
                        v, pos = _read_scalar(buf, pos, sub_end, ewt)
                        if pos < 0:
                            break
                        bits = _scalar_bits(pt, ewt, v)
                        if ehi > elo and not _enum_known(enum_vals, elo, ehi, bits):
                            continue
                        if rep_n >= rep_row.shape[0]:
                            grow = rep_row.shape[0] * 2
                            nr = np.empty(grow, np.int32)
                            nc = np.empty(grow, np.int32)
                            nv = np.empty(grow, np.float64)
                            nr[:rep_n] = rep_row[:rep_n]
                            nc[:rep_n] = rep_col[:rep_n]
                            nv[:rep_n] = rep_val[:rep_n]
                            rep_row = nr
                            rep_col = nc
                            rep_val = nv
                        rep_row[rep_n] = np.int32(r)
                        rep_col[rep_n] = col
                        rep_val[rep_n] = _as_double(pt, bits, sc64, f64v, sc32, f32v)
                        rep_n += 1
                    if pos != sub_end:
                        ok = False
                        break
                    continue
                if wt == ewt:
                    if act == ACT_SCALAR or act == ACT_REPEATED:
                        v, pos = _read_scalar(buf, pos, cur_end, wt)
                        if pos < 0:
                            ok = False
                            break
                        bits = _scalar_bits(pt, wt, v)
                        elo = ent[e, E_ENUM_LO]
                        ehi = ent[e, E_ENUM_HI]
                        if ehi > elo and not _enum_known(enum_vals, elo, ehi, bits):
                            # A closed enum keeps unknown values out of the field.
                            continue
                        if act == ACT_SCALAR:
                            w = ent[e, E_W]
                            idx = ent[e, E_BASE] + r
                            if w == 8:
                                out64[idx] = bits
                            elif w == 4:
                                out32[idx] = np.uint32(bits & _M32)
                            else:
                                out8[idx] = np.uint8(bits & np.uint64(0xFF))
                            oo = ent[e, E_ONEOF]
                            if oo >= 0:
                                oneof_case[oo, r] = np.int32(fnum)
                        else:
                            if rep_n >= rep_row.shape[0]:
                                grow = rep_row.shape[0] * 2
                                nr = np.empty(grow, np.int32)
                                nc = np.empty(grow, np.int32)
                                nv = np.empty(grow, np.float64)
                                nr[:rep_n] = rep_row[:rep_n]
                                nc[:rep_n] = rep_col[:rep_n]
                                nv[:rep_n] = rep_val[:rep_n]
                                rep_row = nr
                                rep_col = nc
                                rep_val = nv
                            rep_row[rep_n] = np.int32(r)
                            rep_col[rep_n] = np.int32(ent[e, E_REPCOL])
                            rep_val[rep_n] = _as_double(pt, bits, sc64, f64v, sc32, f32v)
                            rep_n += 1
                        continue
                    if act == ACT_STRING:
                        ln, pos = _varint(buf, pos, cur_end)
                        if pos < 0 or ln > np.uint64(cur_end - pos):
                            ok = False
                            break
                        n = np.int64(ln)
                        if ent[e, E_UTF8] != 0 and not _utf8_ok(buf, pos, pos + n):
                            ok = False
                            break
                        idx = ent[e, E_BASE] + 2 * r
                        out64[idx] = np.uint64(pos)
                        out64[idx + 1] = np.uint64(n + 1)
                        pos += n
                        oo = ent[e, E_ONEOF]
                        if oo >= 0:
                            oneof_case[oo, r] = np.int32(fnum)
                        continue
                    if act == ACT_NESTED:
                        ln, pos = _varint(buf, pos, cur_end)
                        if pos < 0 or ln > np.uint64(cur_end - pos) or depth + 1 >= MAX_DEPTH:
                            ok = False
                            break
                        oo = ent[e, E_ONEOF]
                        if oo >= 0:
                            oneof_case[oo, r] = np.int32(fnum)
                        st_node[depth] = node
                        st_end[depth] = cur_end
                        st_hint[depth] = hint
                        depth += 1
                        node = ent[e, E_CHILD]
                        cur_end = pos + np.int64(ln)
                        hint = node_lo[node]
                        continue
                    # ACT_SKIP of a known field still selects its oneof member.
                    oo = ent[e, E_ONEOF]
                    if oo >= 0:
                        oneof_case[oo, r] = np.int32(fnum)
            # Unknown field, unselected field, or a known field with another wire type
            # (which protobuf parsers keep as an unknown field): skip by wire type.
            if wt == 4:
                ok = False
                break
            pos = _skip_field(buf, pos, cur_end, wt, fnum, gstack)
            if pos < 0:
                ok = False
                break
        if not ok:
            valid[r] = 0
            rep_n = rep_mark
    return rep_n, rep_row, rep_col, rep_val


@njit(types.void(_i32c, _i32c, types.int64, _i64_2d), **_JIT)
def count_repeated(rep_row, rep_col, n, counts):  # type: ignore[no-untyped-def]
    """counts[col, row] = number of repeated values of that row and column."""
    for i in range(n):
        counts[rep_col[i], rep_row[i]] += 1


@njit(
    types.int64(_i32c, _i32c, _f64c, types.int64, types.int64, types.int64, _f64c, _i64c),
    **_JIT,
)
def scatter_repeated(rep_row, rep_col, rep_val, n, col, width, out, fill):  # type: ignore[no-untyped-def]
    """Place column `col`'s values row-major into out (N x width, NaN-prefilled).

    `fill` is a per-row scratch counter (zeroed). Values past `width` in a row are
    dropped and counted (the return value).
    """
    dropped = 0
    for i in range(n):
        if rep_col[i] != col:
            continue
        row = rep_row[i]
        k = fill[row]
        if k < width:
            out[row * width + k] = rep_val[i]
        else:
            dropped += 1
        fill[row] = k + 1
    return dropped


@njit(types.void(_u8ro, _u64c, types.int64, types.int64, _u64c), **_JIT)
def hash_strings(buf, out64, base, n, hashes):  # type: ignore[no-untyped-def]
    """FNV-1a of each stored string (offset, length + 1 at out64[base + 2i]); 0 = absent."""
    for i in range(n):
        ln = out64[base + 2 * i + 1]
        if ln == _ZERO:
            hashes[i] = _ZERO
            continue
        off = np.int64(out64[base + 2 * i])
        h = np.uint64(0xCBF29CE484222325)
        for k in range(np.int64(ln) - 1):
            h = (h ^ np.uint64(buf[off + k])) * np.uint64(0x100000001B3)
        # Mix in the length so "" never collides with an absent value.
        hashes[i] = (h ^ ln) | _ONE


@njit(types.boolean(_u8ro, _u64c, types.int64, _i64c, _i64c), **_JIT)
def strings_match(buf, out64, base, rows, reps):  # type: ignore[no-untyped-def]
    """Whether string i of `rows` equals the string of row reps[i] byte for byte."""
    for i in range(rows.shape[0]):
        a = rows[i]
        b = reps[i]
        la = out64[base + 2 * a + 1]
        lb = out64[base + 2 * b + 1]
        if la != lb:
            return False
        if la == _ZERO:
            continue
        oa = np.int64(out64[base + 2 * a])
        ob = np.int64(out64[base + 2 * b])
        for k in range(np.int64(la) - 1):
            if buf[oa + k] != buf[ob + k]:
                return False
    return True
