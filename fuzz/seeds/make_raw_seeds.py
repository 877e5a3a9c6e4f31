"""Writes small synthetic Bruker RAW v1/v2/v3 seeds into seeds/bruker_raw/ (layouts as in the
module docs of io/src/bruker/raw.rs and the builders of io/tests/bruker.rs)."""
import os
import struct

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bruker_raw")
os.makedirs(out, exist_ok=True)
counts = [649.0, 609.0, 622.0, 618.0]


def put(b, at, data):
    b[at:at + len(data)] = data


# v1 "RAW ": per range after the magic: steps u32 @0, time f32 @4, step f32 @8, mode u32 @12,
# start f32 @20, theta/chi/phi @24/28/32, name @36, Ka1 @68, Ka2 @72, next-range u32 @148,
# counts @152. Two ranges, the second without magic.
def v1_range(start, more):
    r = bytearray(152)
    put(r, 0, struct.pack("<I", len(counts)))
    put(r, 4, struct.pack("<f", 1.0))
    put(r, 8, struct.pack("<f", 0.03))
    put(r, 20, struct.pack("<f", start))
    for at in (24, 28, 32):
        put(r, at, struct.pack("<f", -1e6))
    put(r, 36, b"LICOO2")
    put(r, 68, struct.pack("<f", 1.5406))
    put(r, 72, struct.pack("<f", 1.54443))
    put(r, 148, struct.pack("<I", 1 if more else 0))
    return bytes(r) + b"".join(struct.pack("<f", c) for c in counts)


open(os.path.join(out, "v1_two_ranges.raw"), "wb").write(b"RAW " + v1_range(15.985, True) + v1_range(40.0, False))

# v2 "RAW2"
b = bytearray(256)
put(b, 0, b"RAW2")
put(b, 4, struct.pack("<H", 1))
put(b, 168, b"23-11-20")
put(b, 188, b"Cu")
put(b, 190, struct.pack("<fff", 1.5406, 1.54443, 0.514))
r = bytearray(64)
put(r, 0, struct.pack("<HH", 64, 2))
put(r, 8, struct.pack("<f", 1.0))
put(r, 12, struct.pack("<f", 0.02))
put(r, 16, struct.pack("<f", 10.0))
put(r, 46, struct.pack("<H", 298))
open(os.path.join(out, "v2.raw"), "wb").write(bytes(b) + bytes(r) + struct.pack("<ff", 100, 121))

# v3 "RAW1.01"
b = bytearray(712)
put(b, 0, b"RAW1.01")
put(b, 8, struct.pack("<II", 1, 1))
put(b, 16, b"11/23/20")
put(b, 26, b"02:36:00")
put(b, 326, b"LiCoO2")
put(b, 608, b"Cu")
put(b, 624, struct.pack("<dd", 1.5406, 1.54443))
put(b, 648, struct.pack("<d", 0.514))
r = bytearray(304)
put(r, 0, struct.pack("<II", 304, len(counts)))
put(r, 16, struct.pack("<d", 15.985))
put(r, 176, struct.pack("<d", 0.03))
put(r, 192, struct.pack("<f", 12.5))
put(r, 256, struct.pack("<I", 8))
open(os.path.join(out, "v3.raw"), "wb").write(
    bytes(b) + bytes(r) + b"\xaa" * 8 + b"".join(struct.pack("<f", c) for c in counts))
