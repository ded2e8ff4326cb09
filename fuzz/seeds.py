#!/usr/bin/env python3
"""Writes starting inputs for the fuzz targets into DIR/<target>/ (default: fuzz/seeds).

Klong programs come from the interpreter's test cases and kg/; Arrow IPC streams are written
with pyarrow (skipped, saying so, without it); frames are requests encoded by hand in
bincode's standard configuration (varint integers, length-prefixed strings and bytes).
"""
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(OUT, target, name), mode) as f:
        f.write(data)


def klong():
    n = 0
    with open(os.path.join(ROOT, "crates/klong/tests/cases.kg")) as f:
        for line in f:
            m = re.match(r't\("[^"]*" ; (.*) ; (.*)\)\s*$', line)
            for part in m.groups() if m else ():
                write("klong_eval", f"case{n}", part)
                n += 1
    for name in os.listdir(os.path.join(ROOT, "kg")):
        with open(os.path.join(ROOT, "kg", name)) as f:
            write("klong_eval", name, f.read())


def csv():
    samples = [
        "t,c,s\n1,1.5,a\n2,2.5,b\n",
        "t,v\n1,2\n3,\n5,6.5\n",
        'a,b\n"x,y",2\n"q""",3\n',
        "t,flag,ts\n1,true,2024-01-01T00:00:00\n2,false,2024-01-02\n",
        "x\n\n1\n",
        "t,a,b\n1,2\n3,4,5\n",
    ]
    for i, text in enumerate(samples):
        write("csv_import", f"s{i}", text)


def ipc_streams():
    try:
        import pyarrow as pa
        import pyarrow.ipc as ipc
    except ImportError:
        print("pyarrow is missing: no Arrow IPC seeds", file=sys.stderr)
        return []
    tables = [
        pa.table({"t": pa.array([1, 2, 3], pa.int64()), "c": [1.5, None, 3.0], "s": ["a", "b", None]}),
        pa.table({"t": pa.array([1, 2], pa.timestamp("ns")), "d": pa.array(["x", "y"]).dictionary_encode()}),
        pa.table({"l": pa.array([[1, 2], None], pa.list_(pa.int32())), "st": [{"a": 1}, {"a": None}]}),
        pa.table({"b": [True, None, False], "u": pa.array([1, 2, 3], pa.uint64()), "bin": [b"x", b"", None]}),
        pa.table({"t": pa.array([], pa.int64())}),
        pa.table({"dec": pa.array([1, 2], pa.decimal128(10, 2)), "d": pa.array([1, 2], pa.date32()),
                  "lu": pa.array(["a", "b"], pa.large_utf8())}),
    ]
    streams = []
    for i, table in enumerate(tables):
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, table.schema) as w:
            for batch in table.to_batches(max_chunksize=2):
                w.write_batch(batch)
        data = sink.getvalue().to_pybytes()
        write("ipc_decode", f"s{i}", data)
        streams.append(data)
    return streams


def varint(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfb" + struct.pack("<H", n)
    if n < 1 << 32:
        return b"\xfc" + struct.pack("<I", n)
    return b"\xfd" + struct.pack("<Q", n)


def string(s):
    b = s.encode()
    return varint(len(b)) + b


def frames(streams):
    payload = streams[0] if streams else b""
    # RequestFrame { id, request }; Request variants in declaration order (Hello = 0, ...).
    bodies = [
        varint(1) + varint(0) + varint(1) + string("kdfs-cli 0.1.0") + b"\x01" + string("secret"),
        varint(2) + varint(1),
        varint(3) + varint(2) + string("historical/minute/AAPL") + string("t") + b"\x01"
        + varint(len(payload)) + payload,
        varint(4) + varint(3) + string("a/b") + b"\x01" + varint(10) + b"\x00" + b"\x01" + varint(2)
        + string("t") + string("c") + b"\x01" + varint(1) + varint(10),
        varint(5) + varint(9) + string("select 1"),
        varint(6) + varint(10) + string("+/!10"),
    ]
    framed = [struct.pack(">I", len(b)) + b for b in bodies]
    # The target's first byte picks the frame limit and the read size.
    for i, f in enumerate(framed):
        write("frame_decode", f"s{i}", b"\x0f" + f)
    write("frame_decode", "all", b"\xff" + b"".join(framed))


klong()
csv()
frames(ipc_streams())
