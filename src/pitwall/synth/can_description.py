"""The CAN description (DBC) of synth's CAN-style topics, written with cantools.

One CAN message per CAN-style topic, named as its protobuf message (topic `mc1_status_data`,
message `mc1_status`), one signal per field with the same name, so the catalogue's matching
rule ties them together. Units and descriptions come from `can_signal_info`; enum fields get
their enum's values as state names, without the prefix proto3 forces on them
(`MCU_STATE_READY_TO_DRIVE` -> `READY_TO_DRIVE`, as the team's own description names them).

The bit layout mirrors the protobuf field widths (bool: 1 bit, enum: 8, 32/64-bit integers,
floats as IEEE floats), so values never overflow their signal; a message longer than 8 bytes
is a CAN FD frame. The description is the same for every seed: one file serves a folder.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from cantools.database.can import Database, Message, Signal
from cantools.database.can.formats.dbc import DbcAttribute, DbcAttributeDefinition, DbcSpecifics
from cantools.database.conversion import BaseConversion
from cantools.database.namedsignalvalue import NamedSignalValue

from pitwall.synth.can_signal_info import message_description, signal_info
from pitwall.synth.catalog_can import CAN_ENUMS, CanMessage, can_messages
from pitwall.synth.schemas import EnumDef

FILENAME = "pitwall-synth.dbc"
FIRST_FRAME_ID = 0x100
_FD_LENGTHS = (8, 12, 16, 20, 24, 32, 48, 64)
_SIGNED = {"int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64"}
_WIDTH = {"bool": 1, "float": 32, "double": 64, "int64": 64, "uint64": 64, "sint64": 64,
          "fixed64": 64, "sfixed64": 64}
_ENUMS = {e.name: e for e in CAN_ENUMS}


def enum_states(enum: EnumDef) -> dict[int, str]:
    """Code -> state name of a synth enum, without its proto3 prefix (`mcu_state_e` -> `MCU_STATE_`)."""
    prefix = enum.name.removesuffix("_e").upper() + "_"
    return {code: value.removeprefix(prefix) for code, value in enumerate(enum.values)}


def _width(proto_type: str) -> int:
    return 8 if proto_type in _ENUMS else _WIDTH.get(proto_type, 32)


def _signal(name: str, proto_type: str, start: int, message: str) -> Signal:
    info = signal_info(message, name)
    choices: OrderedDict[int, str | NamedSignalValue] | None = None
    if proto_type in _ENUMS:
        choices = OrderedDict(enum_states(_ENUMS[proto_type]))
    return Signal(
        name,
        start,
        _width(proto_type),
        is_signed=proto_type in _SIGNED,
        conversion=BaseConversion.factory(choices=choices, is_float=proto_type in ("float", "double")),
        unit=info.unit if info else None,
        comment=info.description if info else None,
    )


def _message(msg: CanMessage, frame_id: int) -> Message:
    signals: list[Signal] = []
    bit = 0
    for name, proto_type, _ in msg.signals:
        width = _width(proto_type)
        if width >= 8:
            bit = -(-bit // 8) * 8  # whole bytes start on a byte boundary
        signals.append(_signal(name, proto_type, bit, msg.name))
        bit += width
    size = -(-bit // 8)
    length = next(n for n in _FD_LENGTHS if n >= size) if size > 8 else max(size, 1)
    return Message(
        frame_id,
        msg.name,
        length,
        signals,
        comment=message_description(msg.name),
        cycle_time=round(1000 / msg.rate_hz),
        is_fd=length > 8,
        sort_signals=None,  # field order, as the protobuf message lists them
    )


def can_database() -> Database:
    """The description of every CAN-style synth topic, as a cantools database."""
    bus_type = DbcAttributeDefinition("BusType", default_value="", type_name="STRING")
    # Without BusType "CAN FD" the DBC writer drops the frames' FD flag (VFrameFormat).
    dbc = DbcSpecifics(
        attributes=OrderedDict(BusType=DbcAttribute("CAN FD", bus_type)),
        attribute_definitions=OrderedDict(BusType=bus_type),
    )
    messages = [_message(m, FIRST_FRAME_ID + k) for k, m in enumerate(can_messages())]
    return Database(messages, version="pitwall synth 1", dbc_specifics=dbc, sort_signals=None)


def dbc_text() -> str:
    return str(can_database().as_dbc_string())


def write_can_description(folder: str | Path) -> Path:
    """Writes `FILENAME` into `folder` (replacing it whole, so a reader never sees half a file)."""
    path = Path(folder) / FILENAME
    tmp = path.with_name(f".{FILENAME}.{os.getpid()}.part")
    tmp.write_text(dbc_text(), encoding="utf-8")
    tmp.replace(path)
    return path
