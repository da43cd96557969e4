# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True, nonecheck=False, overflowcheck=False
"""Compiled kernels: the MCAP record scan and the protobuf wire-format decode.

Per-message Python is what makes plain readers slow, so every loop that runs once per
record or per field lives here, compiled ahead of time by Cython when the package is
built (`make install`): a process loads machine code in about a millisecond instead of
importing a JIT and its cache (numba: ~0.7 s per process, which a CLI pays on every
run). Every entry point releases the GIL, so the decode runs on several threads.

Every read is checked by hand against the end of the region it belongs to (bounds
checks are off): the input is untrusted, damaged files must not crash the process.
All offsets and lengths handed in are already validated against the buffer size.

The numbers shared with the Python that drives these kernels (field table columns,
actions, protobuf types, scan statuses) are defined here, once, and re-exported by
`consts`.
"""

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset


# Record scan status per span.
cpdef enum:
    ST_OK = 0  # walked to the end of the span
    ST_SHORT_HEADER = 1  # fewer than 9 bytes left for a record header
    ST_LONG_RECORD = 2  # a record's length runs past the end of the span
    ST_BAD_OPCODE = 3  # opcode 0: garbage, not a record
    ST_STOPPED = 4  # a record flagged "stop" (the footer) ended the walk

# Report table values for the scan.
cpdef enum:
    REPORT = 1
    REPORT_AND_STOP = 2

# Field table columns.
cpdef enum:
    E_FNUM = 0
    E_WT = 1
    E_ACT = 2
    E_PTYPE = 3
    E_W = 4
    E_BASE = 5
    E_CHILD = 6
    E_ENUM_LO = 7
    E_ENUM_HI = 8
    E_ONEOF = 9
    E_UTF8 = 10
    E_REPCOL = 11
    E_NCOLS = 12

# What the decoder does with a field.
cpdef enum:
    ACT_SKIP = 0
    ACT_SCALAR = 1
    ACT_STRING = 2
    ACT_NESTED = 3
    ACT_REPEATED = 4

# descriptor.proto FieldDescriptorProto.Type values.
cpdef enum:
    T_DOUBLE = 1
    T_FLOAT = 2
    T_INT64 = 3
    T_UINT64 = 4
    T_INT32 = 5
    T_FIXED64 = 6
    T_FIXED32 = 7
    T_BOOL = 8
    T_STRING = 9
    T_GROUP = 10
    T_MESSAGE = 11
    T_BYTES = 12
    T_UINT32 = 13
    T_ENUM = 14
    T_SFIXED32 = 15
    T_SFIXED64 = 16
    T_SINT32 = 17
    T_SINT64 = 18

cpdef enum:
    MAX_DEPTH = 48  # nested messages followed by the decoder (the schema unroll stops earlier)
    MAX_GROUP_DEPTH = 64  # nested unknown groups skipped before a message is called invalid

cdef uint64_t M32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# Little-endian reads; callers have checked the bounds.

cdef inline uint64_t _u16(const uint8_t* b, int64_t p) noexcept nogil:
    return <uint64_t>b[p] | (<uint64_t>b[p + 1] << 8)


cdef inline uint64_t _u32(const uint8_t* b, int64_t p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, b + p, 4)
    return v


cdef inline uint64_t _u64(const uint8_t* b, int64_t p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, b + p, 8)
    return v


# ---------------------------------------------------------------------------------------
# Record scan.


def scan_spans(
    const uint8_t[::1] buf,
    const int64_t[::1] span_lo,
    const int64_t[::1] span_hi,
    const uint8_t[::1] report,
    bint fill,
    uint16_t[::1] m_chan,
    int64_t[::1] m_time,
    int64_t[::1] m_off,
    int64_t[::1] m_len,
    uint8_t[::1] o_op,
    int64_t[::1] o_pos,
    int64_t[::1] o_len,
    int32_t[::1] o_span,
    int64_t[::1] span_stop,
    int8_t[::1] span_status,
):
    """Walk the records of each span [lo, hi) of `buf`.

    Messages go to the m_* arrays (channel, log time, data offset, data length);
    records whose opcode has a non-zero `report` entry go to the o_* arrays (opcode,
    record offset, body length, span). With `fill` false only counts. Returns
    (messages, reported records, message records too short to hold a header).
    """
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef int64_t size = buf.shape[0]
    cdef int64_t n_msg = 0, n_oth = 0, n_short = 0
    cdef int64_t s, pos, hi, n, body
    cdef int8_t status
    cdef uint8_t op
    cdef uint64_t length
    with nogil:
        for s in range(span_lo.shape[0]):
            pos = span_lo[s]
            hi = min(span_hi[s], size)
            status = ST_OK
            while pos < hi:
                if hi - pos < 9:
                    status = ST_SHORT_HEADER
                    break
                op = b[pos]
                length = _u64(b, pos + 1)
                if length > <uint64_t>(hi - pos - 9):
                    status = ST_LONG_RECORD
                    break
                if op == 0:
                    status = ST_BAD_OPCODE
                    break
                n = <int64_t>length
                body = pos + 9
                if op == 5:
                    if n >= 22:
                        if fill:
                            m_chan[n_msg] = <uint16_t>_u16(b, body)
                            m_time[n_msg] = <int64_t>_u64(b, body + 6)
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
                        o_span[n_oth] = <int32_t>s
                    n_oth += 1
                    if report[op] == REPORT_AND_STOP:
                        pos = body + n
                        status = ST_STOPPED
                        break
                pos = body + n
            span_stop[s] = pos
            span_status[s] = status
    return n_msg, n_oth, n_short


def resync(
    const uint8_t[::1] buf,
    int64_t start,
    int64_t end,
    const uint8_t[::1] known_chan,
    int64_t t_lo,
    int64_t t_hi,
):
    """First offset in [start, end) where a plausible chunk or message record starts.

    Used after damage: a chunk must have a consistent header (compression name and
    data length agreeing with the record length); a message must be on a known
    channel, have a log time in [t_lo, t_hi] and be followed by another plausible
    record header (or the end of the region). -1 if none.
    """
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef int64_t p = start, n, q, cl, t, nxt
    cdef uint8_t op, op2
    cdef uint64_t length
    cdef int64_t found = -1
    cdef bint name_ok
    with nogil:
        while found < 0 and p + 9 <= end:
            op = b[p]
            if op == 6 or op == 5:
                length = _u64(b, p + 1)
                if length <= <uint64_t>(end - p - 9):
                    n = <int64_t>length
                    q = p + 9
                    if op == 6 and n >= 40:
                        cl = <int64_t>_u32(b, q + 28)
                        if (cl == 0 or cl == 3 or cl == 4) and 40 + cl <= n:
                            name_ok = True
                            if cl == 3:
                                name_ok = b[q + 32] == 108 and b[q + 33] == 122 and b[q + 34] == 52
                            elif cl == 4:
                                name_ok = (
                                    b[q + 32] == 122
                                    and b[q + 33] == 115
                                    and b[q + 34] == 116
                                    and b[q + 35] == 100
                                )
                            if name_ok and _u64(b, q + 32 + cl) == <uint64_t>(n - 40 - cl):
                                if _u64(b, q) <= _u64(b, q + 8):
                                    found = p
                    elif op == 5 and n >= 22:
                        t = <int64_t>_u64(b, q + 6)
                        if known_chan[_u16(b, q)] != 0 and t >= t_lo and t <= t_hi:
                            nxt = q + n
                            if nxt == end:
                                found = p
                            elif nxt + 9 <= end:
                                op2 = b[nxt]
                                if 1 <= op2 <= 15 and _u64(b, nxt + 1) <= <uint64_t>(end - nxt - 9):
                                    found = p
            p += 1
    return found


def gather_copy(
    const uint8_t[::1] src,
    const int64_t[::1] off,
    const int64_t[::1] length,
    uint8_t[::1] dst,
    const int64_t[::1] dst_off,
):
    """Copy src[off[i]:off[i]+length[i]] to dst[dst_off[i]:...] for every i."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(off.shape[0]):
            if length[i] > 0:
                memcpy(&dst[dst_off[i]], &src[off[i]], <size_t>length[i])


# ---------------------------------------------------------------------------------------
# Protobuf wire format.


cdef inline int64_t _varint_max(
    const uint8_t* b, int64_t pos, int64_t end, uint64_t* out, int max_bytes
) noexcept nogil:
    """Reads a varint of at most `max_bytes` into out; the position after it, or -1
    when it is cut by `end` or longer."""
    cdef uint64_t result, shift = 7
    cdef uint8_t c
    cdef int k
    if pos >= end:
        out[0] = 0
        return -1
    c = b[pos]
    if c < 0x80:  # one byte: tags and most small values
        out[0] = c
        return pos + 1
    result = c & 0x7F
    pos += 1
    for k in range(max_bytes - 1):
        if pos >= end:
            break
        c = b[pos]
        pos += 1
        result |= <uint64_t>(c & 0x7F) << shift
        if c < 0x80:
            out[0] = result
            return pos
        shift += 7
    out[0] = result
    return -1


cdef inline int64_t _varint(const uint8_t* b, int64_t pos, int64_t end, uint64_t* out) noexcept nogil:
    return _varint_max(b, pos, end, out, 10)


cdef int64_t _skip_field(
    const uint8_t* b, int64_t pos, int64_t end, int64_t wt, int64_t fnum
) noexcept nogil:
    """Position after a field's value of wire type `wt`; -1 if it does not fit."""
    cdef uint64_t v, tag
    cdef int64_t gstack[MAX_GROUP_DEPTH]
    cdef int64_t depth, f, w
    if wt == 0:
        return _varint(b, pos, end, &v)
    if wt == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wt == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wt == 2:
        pos = _varint(b, pos, end, &v)
        if pos < 0 or v > <uint64_t>(end - pos):
            return -1
        return pos + <int64_t>v
    if wt == 3:
        # A group: skip fields until its end-group tag, minding nested groups.
        depth = 0
        gstack[0] = fnum
        while True:
            pos = _varint(b, pos, end, &tag)
            if pos < 0 or tag > M32:
                return -1
            f = <int64_t>(tag >> 3)
            w = <int64_t>(tag & 7)
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
                if depth >= MAX_GROUP_DEPTH:
                    return -1
                gstack[depth] = f
            elif w == 0:
                pos = _varint(b, pos, end, &v)
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
                pos = _varint(b, pos, end, &v)
                if pos < 0 or v > <uint64_t>(end - pos):
                    return -1
                pos += <int64_t>v
            else:
                return -1
    return -1


cdef bint _utf8_ok(const uint8_t* b, int64_t i, int64_t end) noexcept nogil:
    """Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as upb."""
    cdef uint8_t c, c1
    while i < end:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if c < 0xC2:
            return False
        if c < 0xE0:
            if i + 1 >= end or (b[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
            continue
        if c < 0xF0:
            if i + 2 >= end:
                return False
            c1 = b[i + 1]
            if c == 0xE0:
                if c1 < 0xA0 or c1 > 0xBF:
                    return False
            elif c == 0xED:
                if c1 < 0x80 or c1 > 0x9F:
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            if (b[i + 2] & 0xC0) != 0x80:
                return False
            i += 3
            continue
        if c < 0xF5:
            if i + 3 >= end:
                return False
            c1 = b[i + 1]
            if c == 0xF0:
                if c1 < 0x90 or c1 > 0xBF:
                    return False
            elif c == 0xF4:
                if c1 < 0x80 or c1 > 0x8F:
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            if (b[i + 2] & 0xC0) != 0x80 or (b[i + 3] & 0xC0) != 0x80:
                return False
            i += 4
            continue
        return False
    return True


cdef inline bint _enum_known(const int64_t* enum_vals, int64_t lo, int64_t hi, uint64_t bits) noexcept nogil:
    """Whether the int32 in the low bits of `bits` is a value of a closed enum."""
    cdef int64_t v = <int64_t><int32_t><uint32_t>(bits & M32)
    cdef int64_t a = lo, z = hi, m, x
    while a < z:
        m = (a + z) >> 1
        x = enum_vals[m]
        if x == v:
            return True
        if x < v:
            a = m + 1
        else:
            z = m
    return False


cdef inline double _as_double(int64_t pt, uint64_t bits) noexcept nogil:
    """A decoded scalar's stored bits as float64, for repeated fields (N x K double)."""
    cdef double d
    cdef float f
    cdef uint32_t lo32
    if pt == T_DOUBLE:
        memcpy(&d, &bits, 8)
        return d
    if pt == T_FLOAT:
        lo32 = <uint32_t>(bits & M32)
        memcpy(&f, &lo32, 4)
        return <double>f
    if pt == T_INT32 or pt == T_SINT32 or pt == T_SFIXED32 or pt == T_ENUM:
        return <double><int32_t><uint32_t>(bits & M32)
    if pt == T_UINT32 or pt == T_FIXED32:
        return <double><uint32_t>(bits & M32)
    if pt == T_INT64 or pt == T_SINT64 or pt == T_SFIXED64:
        return <double><int64_t>bits
    if pt == T_BOOL:
        return 1.0 if bits != 0 else 0.0
    return <double>bits


def decode_messages(
    const uint8_t[::1] buf,
    const int64_t[::1] moff,
    const int64_t[::1] mlen,
    const int32_t[::1] mprog,
    const int64_t[::1] mrow,
    int64_t i0,
    int64_t i1,
    const int64_t[:, ::1] ent,
    const int64_t[::1] node_lo,
    const int64_t[::1] node_hi,
    const int64_t[::1] roots,
    const int64_t[::1] enum_vals,
    uint8_t[::1] out8,
    uint32_t[::1] out32,
    uint64_t[::1] out64,
    int32_t[::1] oneof_case,
    uint8_t[::1] valid,
    int32_t[::1] rep_row,
    int32_t[::1] rep_col,
    double[::1] rep_val,
):
    """Decode messages i0..i1-1 of the file into the columns of their topics.

    Messages are taken in file order: the arena is read once, front to back (decoding
    topic by topic jumps around it and waits on memory: 4x slower). Message i is
    buf[moff[i]:moff[i]+mlen[i]], decoded by program mprog[i] (-1: not wanted) into row
    mrow[i] of that program's columns. `ent` is the field table of all programs (one
    row per field of each unrolled message node, sorted by field number within a node:
    node n owns rows node_lo[n]..node_hi[n]-1; program p starts at node roots[p]).
    Scalars are stored at out{8,32,64}[base + row] by width; strings as (offset,
    length + 1) pairs in out64 (length 0 = absent); the last oneof member seen goes to
    oneof_case[slot base + row]. A message that is not valid protobuf gets valid[i] = 0
    (its repeated values are rolled back).

    Repeated numeric values go to rep_row/rep_col/rep_val (row, global column, value).
    Returns (values stored, next message): when those arrays are full the kernel stops
    before the message that did not fit and the caller resumes there with fresh ones
    (a message's writes are idempotent, so redoing part of one is harmless).
    """
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef const int64_t* E = &ent[0, 0] if ent.shape[0] else NULL
    cdef const int64_t* ev = &enum_vals[0] if enum_vals.shape[0] else NULL
    cdef int64_t rep_cap = rep_row.shape[0]
    cdef int64_t rep_n = 0, rep_mark
    cdef int64_t st_node[MAX_DEPTH]
    cdef int64_t st_end[MAX_DEPTH]
    cdef int64_t st_hint[MAX_DEPTH]
    cdef int64_t i, prog, r, pos, cur_end, depth, node, hint, fnum, wt, lo, hi, e, a, z, m
    cdef int64_t x, act, ewt, pt, run_end, elo, ehi, w, oo, n, row_e
    cdef uint64_t tag, ln, v, idx
    cdef int64_t next_i = i1
    cdef bint ok, full, packed
    with nogil:
        for i in range(i0, i1):
            prog = mprog[i]
            if prog < 0:
                continue
            r = mrow[i]
            pos = moff[i]
            cur_end = pos + mlen[i]
            depth = 0
            node = roots[prog]
            hint = node_lo[node]
            ok = True
            full = False
            rep_mark = rep_n
            while True:
                if pos >= cur_end:
                    if depth == 0:
                        break
                    depth -= 1
                    node = st_node[depth]
                    cur_end = st_end[depth]
                    hint = st_hint[depth]
                    continue
                # Tag: one byte for field numbers up to 15; five at most, as upb.
                pos = _varint_max(b, pos, cur_end, &tag, 5)
                if pos < 0 or tag > M32:
                    ok = False
                    break
                fnum = <int64_t>(tag >> 3)
                wt = <int64_t>(tag & 7)
                if fnum == 0:
                    ok = False
                    break
                # Find the field: fields usually arrive in number order, so try the one
                # after the last match (and the last match itself, for repeats) first.
                lo = node_lo[node]
                hi = node_hi[node]
                e = -1
                if hint < hi and E[hint * E_NCOLS + E_FNUM] == fnum:
                    e = hint
                elif hint - 1 >= lo and E[(hint - 1) * E_NCOLS + E_FNUM] == fnum:
                    e = hint - 1
                else:
                    a = lo
                    z = hi
                    while a < z:
                        m = (a + z) >> 1
                        x = E[m * E_NCOLS + E_FNUM]
                        if x == fnum:
                            e = m
                            break
                        if x < fnum:
                            a = m + 1
                        else:
                            z = m
                if e >= 0:
                    row_e = e * E_NCOLS
                    hint = e + 1
                    act = E[row_e + E_ACT]
                    ewt = E[row_e + E_WT]
                    packed = act == ACT_REPEATED and wt == 2
                    if wt == ewt or packed:
                        pt = E[row_e + E_PTYPE]
                        if act == ACT_SCALAR or act == ACT_REPEATED:
                            # One value, or a packed run of them.
                            run_end = cur_end
                            if packed:
                                pos = _varint(b, pos, cur_end, &ln)
                                if pos < 0 or ln > <uint64_t>(cur_end - pos):
                                    ok = False
                                    break
                                run_end = pos + <int64_t>ln
                            elo = E[row_e + E_ENUM_LO]
                            ehi = E[row_e + E_ENUM_HI]
                            while True:
                                if packed and pos >= run_end:
                                    break
                                # The raw value, by wire type.
                                if ewt == 0:
                                    pos = _varint(b, pos, run_end, &v)
                                    if pos < 0:
                                        ok = False
                                        break
                                    if pt == T_BOOL:
                                        v = 1 if v != 0 else 0
                                    elif pt == T_SINT32:
                                        v = v & M32
                                        v = ((v >> 1) ^ (<uint64_t>0 - (v & 1))) & M32
                                    elif pt == T_SINT64:
                                        v = (v >> 1) ^ (<uint64_t>0 - (v & 1))
                                elif ewt == 1:
                                    if pos + 8 > run_end:
                                        ok = False
                                        break
                                    v = _u64(b, pos)
                                    pos += 8
                                else:
                                    if pos + 4 > run_end:
                                        ok = False
                                        break
                                    v = _u32(b, pos)
                                    pos += 4
                                # A closed enum keeps unknown values out of the field.
                                if ehi > elo and not _enum_known(ev, elo, ehi, v):
                                    if not packed:
                                        break
                                    continue
                                if act == ACT_SCALAR:
                                    w = E[row_e + E_W]
                                    idx = <uint64_t>(E[row_e + E_BASE] + r)
                                    if w == 8:
                                        out64[idx] = v
                                    elif w == 4:
                                        out32[idx] = <uint32_t>(v & M32)
                                    else:
                                        out8[idx] = <uint8_t>(v & 0xFF)
                                    oo = E[row_e + E_ONEOF]
                                    if oo >= 0:
                                        oneof_case[oo + r] = <int32_t>fnum
                                else:
                                    if rep_n >= rep_cap:
                                        full = True
                                        break
                                    rep_row[rep_n] = <int32_t>r
                                    rep_col[rep_n] = <int32_t>E[row_e + E_REPCOL]
                                    rep_val[rep_n] = _as_double(pt, v)
                                    rep_n += 1
                                if not packed:
                                    break
                            if not ok or full:
                                break
                            if packed and pos != run_end:
                                ok = False
                                break
                            continue
                        if act == ACT_STRING or act == ACT_NESTED:
                            pos = _varint(b, pos, cur_end, &ln)
                            if pos < 0 or ln > <uint64_t>(cur_end - pos):
                                ok = False
                                break
                            n = <int64_t>ln
                            oo = E[row_e + E_ONEOF]
                            if oo >= 0:
                                oneof_case[oo + r] = <int32_t>fnum
                            if act == ACT_STRING:
                                if E[row_e + E_UTF8] != 0 and not _utf8_ok(b, pos, pos + n):
                                    ok = False
                                    break
                                idx = <uint64_t>(E[row_e + E_BASE] + 2 * r)
                                out64[idx] = <uint64_t>pos
                                out64[idx + 1] = <uint64_t>(n + 1)
                                pos += n
                                continue
                            if depth + 1 >= MAX_DEPTH:
                                ok = False
                                break
                            st_node[depth] = node
                            st_end[depth] = cur_end
                            st_hint[depth] = hint
                            depth += 1
                            node = E[row_e + E_CHILD]
                            cur_end = pos + n
                            hint = node_lo[node]
                            continue
                        # ACT_SKIP of a known field still selects its oneof member.
                        oo = E[row_e + E_ONEOF]
                        if oo >= 0:
                            oneof_case[oo + r] = <int32_t>fnum
                # Unknown field, unselected field, or a known field with another wire type
                # (which protobuf parsers keep as an unknown field): skip by wire type.
                if wt == 4:
                    ok = False
                    break
                pos = _skip_field(b, pos, cur_end, wt, fnum)
                if pos < 0:
                    ok = False
                    break
            if full:
                rep_n = rep_mark
                next_i = i
                break
            if not ok:
                valid[i] = 0
                rep_n = rep_mark
    return rep_n, next_i


def intern_strings(
    const uint8_t[::1] buf,
    const uint64_t[::1] out64,
    int64_t base,
    int64_t n,
    int64_t[::1] inverse,
    int64_t[::1] first,
    int64_t cap,
):
    """Number the distinct strings of a column (offset, length + 1 at out64[base + 2i]).

    inverse[i] = id of row i's string (-1: absent), first[id] = a row holding it;
    returns how many distinct strings, or -1 when more than cap / 2 (a power of two)
    turn up: the caller retries with a bigger table. An open-addressing table keyed by
    FNV-1a with a byte comparison on every hash match, so equal hashes never merge
    different strings.
    """
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef uint64_t mask = <uint64_t>(cap - 1)
    cdef int64_t* table = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef uint64_t* hashes = <uint64_t*>malloc((cap // 2 + 1) * sizeof(uint64_t))
    cdef int64_t k = 0, prev_id = -1, i, u
    cdef uint64_t prev_off = 0, prev_ln = 0, ln, off, size, j, h, slot, other, o2
    cdef bint same, overflow = False
    if table == NULL or hashes == NULL:
        free(table)
        free(hashes)
        raise MemoryError("no memory for the string table")
    with nogil:
        memset(table, 0xFF, cap * sizeof(int64_t))  # every slot -1: empty
        for i in range(n):
            ln = out64[base + 2 * i + 1]
            if ln == 0:
                inverse[i] = -1
                continue
            off = out64[base + 2 * i]
            size = ln - 1
            # Telemetry strings mostly repeat the previous row's: compare before hashing.
            if ln == prev_ln and prev_id >= 0:
                same = True
                j = 0
                while j < size:
                    if b[off + j] != b[prev_off + j]:
                        same = False
                        break
                    j += 1
                if same:
                    inverse[i] = prev_id
                    continue
            prev_off = off
            prev_ln = ln
            h = 0xCBF29CE484222325
            j = 0
            while j < size:
                h = (h ^ b[off + j]) * <uint64_t>0x100000001B3
                j += 1
            slot = h & mask
            while True:
                u = table[slot]
                if u < 0:
                    if 2 * (k + 1) > cap:
                        overflow = True
                        break
                    table[slot] = k
                    first[k] = i
                    hashes[k] = h
                    inverse[i] = k
                    prev_id = k
                    k += 1
                    break
                if hashes[u] == h:
                    other = <uint64_t>first[u]
                    if out64[base + 1 + other * 2] == ln:
                        o2 = out64[base + other * 2]
                        same = True
                        j = 0
                        while j < size:
                            if b[off + j] != b[o2 + j]:
                                same = False
                                break
                            j += 1
                        if same:
                            inverse[i] = u
                            prev_id = u
                            break
                slot = (slot + 1) & mask
            if overflow:
                break  # the table is full: the caller retries with a bigger one
    free(table)
    free(hashes)
    return -1 if overflow else k


def order_by_column(const int32_t[::1] cols, int64_t n_cols, int64_t[::1] order):
    """Stable counting sort of value indices by column (row order kept within one)."""
    cdef int64_t* counts = <int64_t*>malloc((n_cols + 1) * sizeof(int64_t))
    cdef Py_ssize_t i
    cdef int64_t c
    if counts == NULL:
        raise MemoryError("no memory for the column counts")
    with nogil:
        memset(counts, 0, (n_cols + 1) * sizeof(int64_t))
        for i in range(cols.shape[0]):
            counts[cols[i] + 1] += 1
        for c in range(n_cols):
            counts[c + 1] += counts[c]
        for i in range(cols.shape[0]):
            c = cols[i]
            order[counts[c]] = i
            counts[c] += 1
    free(counts)
