"""Protobuf schemas described in Python and turned into FileDescriptorSets (no protoc).

A synth file carries schemas the way the team's logger does: every channel's schema
record is a FileDescriptorSet of the whole `.proto` file its message lives in (plus that
file's imports), named after the message. `leaf_paths` lists what a decoder should find
in each message, in the column model's vocabulary (`pitwall.common.columns.Kind`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from google.protobuf import descriptor_pb2

_FDP = descriptor_pb2.FieldDescriptorProto

SCALAR_TYPES: dict[str, int] = {
    "double": _FDP.TYPE_DOUBLE,
    "float": _FDP.TYPE_FLOAT,
    "int32": _FDP.TYPE_INT32,
    "int64": _FDP.TYPE_INT64,
    "uint32": _FDP.TYPE_UINT32,
    "uint64": _FDP.TYPE_UINT64,
    "sint32": _FDP.TYPE_SINT32,
    "sint64": _FDP.TYPE_SINT64,
    "fixed32": _FDP.TYPE_FIXED32,
    "fixed64": _FDP.TYPE_FIXED64,
    "sfixed32": _FDP.TYPE_SFIXED32,
    "sfixed64": _FDP.TYPE_SFIXED64,
    "bool": _FDP.TYPE_BOOL,
    "string": _FDP.TYPE_STRING,
}

# protobuf type -> column-model kind (see pitwall.common.columns).
KIND: dict[str, str] = {
    "double": "double",
    "float": "single",
    "int32": "int32",
    "sint32": "int32",
    "sfixed32": "int32",
    "uint32": "uint32",
    "fixed32": "uint32",
    "int64": "int64",
    "sint64": "int64",
    "sfixed64": "int64",
    "uint64": "uint64",
    "fixed64": "uint64",
    "bool": "logical",
    "enum": "enum",
    "string": "string",
}


@dataclass(frozen=True, slots=True)
class EnumDef:
    name: str
    values: tuple[str, ...]  # numbered 0, 1, 2 ... (proto3: the first is the default)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field. `type` is a scalar name, or the name of an enum or message in the file."""

    name: str
    type: str
    number: int
    repeated: bool = False
    packed: bool = True  # only for repeated scalars; False writes `[packed = false]`


@dataclass(frozen=True, slots=True)
class MessageDef:
    name: str
    fields: tuple[FieldDef, ...]


@dataclass(eq=False)
class ProtoFile:
    """One .proto file: its messages and enums, and the files it imports."""

    name: str
    package: str
    messages: list[MessageDef] = field(default_factory=list)
    enums: list[EnumDef] = field(default_factory=list)
    imports: list[ProtoFile] = field(default_factory=list)

    def full_name(self, local: str) -> str:
        return f"{self.package}.{local}" if self.package else local

    def message(self, name: str) -> MessageDef:
        return self._messages[name]

    @cached_property
    def _messages(self) -> dict[str, MessageDef]:
        return {m.name: m for m in self.messages}

    def resolve(self, type_name: str) -> tuple[str, ProtoFile, MessageDef | EnumDef]:
        """('message'|'enum', owning file, definition) of a non-scalar type name."""
        for f in (self, *self.all_imports()):
            for m in f.messages:
                if m.name == type_name:
                    return "message", f, m
            for e in f.enums:
                if e.name == type_name:
                    return "enum", f, e
        raise KeyError(f"{type_name} is not defined in {self.name} or its imports")

    def all_imports(self) -> list[ProtoFile]:
        seen: list[ProtoFile] = []
        for imp in self.imports:
            for f in (*imp.all_imports(), imp):
                if all(f is not other for other in seen):
                    seen.append(f)
        return seen

    def descriptor(self) -> descriptor_pb2.FileDescriptorProto:
        fdp = descriptor_pb2.FileDescriptorProto(name=self.name, syntax="proto3")
        if self.package:
            fdp.package = self.package
        fdp.dependency.extend(imp.name for imp in self.imports)
        for enum in self.enums:
            e = fdp.enum_type.add(name=enum.name)
            for number, value in enumerate(enum.values):
                e.value.add(name=value, number=number)
        for msg in self.messages:
            m = fdp.message_type.add(name=msg.name)
            for fd in msg.fields:
                f = m.field.add(name=fd.name, number=fd.number, json_name=_json_name(fd.name))
                f.label = _FDP.LABEL_REPEATED if fd.repeated else _FDP.LABEL_OPTIONAL
                if fd.type in SCALAR_TYPES:
                    f.type = SCALAR_TYPES[fd.type]
                    if fd.repeated and not fd.packed:
                        f.options.packed = False
                else:
                    what, owner, _ = self.resolve(fd.type)
                    f.type = _FDP.TYPE_MESSAGE if what == "message" else _FDP.TYPE_ENUM
                    f.type_name = "." + owner.full_name(fd.type)
        return fdp

    def descriptor_set(self) -> bytes:
        """Serialized FileDescriptorSet: imports first, as protoc's --include_imports does."""
        fds = descriptor_pb2.FileDescriptorSet()
        for f in (*self.all_imports(), self):
            fds.file.append(f.descriptor())
        return fds.SerializeToString(deterministic=True)


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf signal path of a message and its column-model kind."""

    path: str
    kind: str
    repeated: bool
    proto_type: str


def leaf_paths(file: ProtoFile, message: str) -> list[Leaf]:
    """Every leaf of `message`, nested fields flattened to dotted paths, in field order."""
    out: list[Leaf] = []
    _walk(file, file.message(message), "", out)
    return out


def _walk(file: ProtoFile, msg: MessageDef, prefix: str, out: list[Leaf]) -> None:
    for fd in msg.fields:
        path = prefix + fd.name
        if fd.type in SCALAR_TYPES:
            out.append(Leaf(path, KIND[fd.type], fd.repeated, fd.type))
            continue
        what, owner, definition = file.resolve(fd.type)
        if what == "enum":
            out.append(Leaf(path, "enum", fd.repeated, "enum"))
        else:
            assert isinstance(definition, MessageDef)
            _walk(owner, definition, path + ".", out)
