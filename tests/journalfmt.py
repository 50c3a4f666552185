"""journalfmt.py - the broker's journal format (demos/distributed/journal.h) in Python

A second implementation, for tests: records() walks a journal's bytes and checks each
record's CRC-32C; replay() computes what is outstanding the way journal.c does; record(),
put() and ref() write records (tests/fuzz/make_corpus.py builds its seeds with them).
"""
import struct

PUT, ACK, DEAD, DELIVERED, MAX_ID = 1, 2, 3, 4, 5


def crc32c(data):
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def text(s):
    return struct.pack(">H", len(s)) + s


def record(kind, ident, fields=b""):
    body = struct.pack(">BQ", kind, ident) + fields
    head = struct.pack(">I", len(body) + 4) + body
    return head + struct.pack(">I", crc32c(head))


def put(ident, queue, payload, deliveries=0):
    return record(PUT, ident, text(queue) + struct.pack(">II", deliveries, len(payload))
                  + payload)


def ref(kind, ident, queue):
    """ACK, DEAD or DELIVERED of task ident on queue"""
    return record(kind, ident, text(queue))


def records(data):
    """[(start, end, kind, id, queue, deliveries, payload)] of the whole records at the start of data,
    stopping at the first one cut short or failing its CRC."""
    out, off = [], 0
    while off + 4 <= len(data):
        (length,) = struct.unpack_from(">I", data, off)
        end = off + 4 + length
        if length < 13 or end > len(data):
            break
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if crc != crc32c(data[off:end - 4]):
            break
        kind, ident = struct.unpack_from(">BQ", data, off + 4)
        queue = payload = b""
        deliveries = 0
        if kind != MAX_ID:
            (qlen,) = struct.unpack_from(">H", data, off + 13)
            queue = data[off + 15:off + 15 + qlen]
            if kind == PUT:
                (deliveries,) = struct.unpack_from(">I", data, off + 15 + qlen)
                payload = data[off + 15 + qlen + 8:end - 4]
        out.append((off, end, kind, ident, queue, deliveries, payload))
        off = end
    return out


def replay(recs):
    """{id: [queue, payload, deliveries, dead]} still outstanding, in the order first put"""
    tasks = {}
    for _, _, kind, ident, queue, deliveries, payload in recs:
        if kind == PUT and ident not in tasks:
            tasks[ident] = [queue, payload, deliveries, False]
        elif kind == ACK:
            tasks.pop(ident, None)
        elif kind == DEAD and ident in tasks:
            tasks[ident][3] = True
        elif kind == DELIVERED and ident in tasks:
            tasks[ident][2] += 1
    return tasks
