"""Small protobuf MCAP files shaped like the team's car logs (a topic per CAN message,
`<message>_data`, schema message `<message>` in lower case, one field per CAN signal), for
tests of the channel catalogue. Schemas are built with descriptor_pb2 (no protoc)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2 as d
from google.protobuf import descriptor_pool, message_factory
from mcap.writer import CompressionType, Writer

F = d.FieldDescriptorProto
TYPES = {"int32": F.TYPE_INT32, "uint32": F.TYPE_UINT32, "float": F.TYPE_FLOAT, "double": F.TYPE_DOUBLE,
         "bool": F.TYPE_BOOL}

# topic -> (schema message name, {field: (protobuf type, one value per message)})
Topics = Mapping[str, tuple[str, Mapping[str, tuple[str, Sequence[Any]]]]]


def write_can_mcap(path: Path, start_ns: int, topics: Topics, period_ns: int = 100_000_000) -> Path:
    """One message per value of each topic, `period_ns` apart from `start_ns`."""
    fd = d.FileDescriptorProto(name="hytech_test.proto", package="hytech_test", syntax="proto3")
    for message, fields in topics.values():
        m = fd.message_type.add(name=message)
        for number, (name, (typ, _)) in enumerate(fields.items(), start=1):
            m.field.add(name=name, number=number, type=TYPES[typ], label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    fds = d.FileDescriptorSet(file=[fd]).SerializeToString()
    with open(path, "wb") as fh:
        writer = Writer(fh, compression=CompressionType.ZSTD)
        writer.start(profile="", library="pitwall-tests")
        for topic, (message, fields) in topics.items():
            schema_id = writer.register_schema(name=f"hytech_test.{message}", encoding="protobuf", data=fds)
            channel = writer.register_channel(topic=topic, message_encoding="protobuf", schema_id=schema_id)
            cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"hytech_test.{message}"))
            count = len(next(iter(fields.values()))[1])
            for i in range(count):
                msg = cls(**{name: values[i] for name, (_, values) in fields.items()})
                t = start_ns + i * period_ns
                writer.add_message(channel, log_time=t, publish_time=t, data=msg.SerializeToString(), sequence=i)
        writer.finish()
    return path
