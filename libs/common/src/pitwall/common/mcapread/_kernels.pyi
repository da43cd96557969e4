# Types of the compiled kernels (_kernels.pyx). Arrays are C-contiguous numpy arrays of
# the dtypes the .pyx declares (a wrong dtype raises ValueError at the call); see the
# docstrings there for what each function does.
import numpy as np

ST_OK: int
ST_SHORT_HEADER: int
ST_LONG_RECORD: int
ST_BAD_OPCODE: int
ST_STOPPED: int
REPORT: int
REPORT_AND_STOP: int
E_FNUM: int
E_WT: int
E_ACT: int
E_PTYPE: int
E_W: int
E_BASE: int
E_CHILD: int
E_ENUM_LO: int
E_ENUM_HI: int
E_ONEOF: int
E_UTF8: int
E_REPCOL: int
E_NCOLS: int
ACT_SKIP: int
ACT_SCALAR: int
ACT_STRING: int
ACT_NESTED: int
ACT_REPEATED: int
T_DOUBLE: int
T_FLOAT: int
T_INT64: int
T_UINT64: int
T_INT32: int
T_FIXED64: int
T_FIXED32: int
T_BOOL: int
T_STRING: int
T_GROUP: int
T_MESSAGE: int
T_BYTES: int
T_UINT32: int
T_ENUM: int
T_SFIXED32: int
T_SFIXED64: int
T_SINT32: int
T_SINT64: int
MAX_DEPTH: int
MAX_GROUP_DEPTH: int

def scan_spans(
    buf: np.ndarray,
    span_lo: np.ndarray,
    span_hi: np.ndarray,
    report: np.ndarray,
    fill: bool,
    m_chan: np.ndarray,
    m_time: np.ndarray,
    m_off: np.ndarray,
    m_len: np.ndarray,
    o_op: np.ndarray,
    o_pos: np.ndarray,
    o_len: np.ndarray,
    o_span: np.ndarray,
    span_stop: np.ndarray,
    span_status: np.ndarray,
) -> tuple[int, int, int]: ...
def resync(
    buf: np.ndarray, start: int, end: int, known_chan: np.ndarray, t_lo: int, t_hi: int
) -> int: ...
def gather_copy(
    src: np.ndarray, off: np.ndarray, length: np.ndarray, dst: np.ndarray, dst_off: np.ndarray
) -> None: ...
def decode_messages(
    buf: np.ndarray,
    moff: np.ndarray,
    mlen: np.ndarray,
    mprog: np.ndarray,
    mrow: np.ndarray,
    i0: int,
    i1: int,
    ent: np.ndarray,
    node_lo: np.ndarray,
    node_hi: np.ndarray,
    roots: np.ndarray,
    enum_vals: np.ndarray,
    out8: np.ndarray,
    out32: np.ndarray,
    out64: np.ndarray,
    oneof_case: np.ndarray,
    valid: np.ndarray,
    rep_row: np.ndarray,
    rep_col: np.ndarray,
    rep_val: np.ndarray,
) -> tuple[int, int]: ...
def intern_strings(
    buf: np.ndarray,
    out64: np.ndarray,
    base: int,
    n: int,
    inverse: np.ndarray,
    first: np.ndarray,
    cap: int,
) -> int: ...
def order_by_column(cols: np.ndarray, n_cols: int, order: np.ndarray) -> None: ...
