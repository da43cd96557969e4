"""Numbers shared by the compiled kernels and the Python that drives them.

Kept apart from `kernels` so building a field table does not import numba.
"""

# Record scan status per span.
ST_OK = 0  # walked to the end of the span
ST_SHORT_HEADER = 1  # fewer than 9 bytes left for a record header
ST_LONG_RECORD = 2  # a record's length runs past the end of the span
ST_BAD_OPCODE = 3  # opcode 0: garbage, not a record
ST_STOPPED = 4  # a record flagged "stop" (the footer) ended the walk

# Report table values for the scan.
REPORT = 1
REPORT_AND_STOP = 2

# Field table columns.
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

ACT_SKIP = 0
ACT_SCALAR = 1
ACT_STRING = 2
ACT_NESTED = 3
ACT_REPEATED = 4

# descriptor.proto FieldDescriptorProto.Type values.
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

MAX_DEPTH = 48  # nested messages followed by the decoder (the schema unroll stops earlier)
MAX_GROUP_DEPTH = 64  # nested unknown groups skipped before a message is called invalid
