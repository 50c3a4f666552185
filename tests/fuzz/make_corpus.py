#!/usr/bin/env python3
"""make_corpus.py - write the fuzz targets' seed inputs into tests/fuzz/corpus/

Usage: python3 tests/fuzz/make_corpus.py      (rewrites the committed seeds)

wire/: one valid frame of every op in wire.h's layout, plus a pipelined stream of
several. journal/: small journals in journal.h's record format (with its CRC-32C),
one of them with a torn last record, written with tests/journalfmt.py. Seeds only need to be valid enough for libFuzzer to
reach deep into the parsers; the mutations do the rest.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from journalfmt import ACK, DEAD, DELIVERED, MAX_ID, crc32c, put, record, ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = dict(CHALLENGE=1, HELLO=2, WELCOME=3, PUT=10, GET=11, ACK=12, NACK=13, RENEW=14,
           FINISH=15, STATS=16, INSPECT=17, PUT_OK=40, TASKS=41, OK=42, STATS_REPLY=43,
           ENTRIES=44, ERROR=45)


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def text(s): return u16(len(s)) + s
def blob(b): return u32(len(b)) + b


def frame(op, body):
    return u32(2 + len(body)) + u8(1) + u8(OPS[op]) + body


def wire_seeds():
    ids = u32(2) + u64(1) + u64(2)
    two = u32(2) + blob(b"TASKID 1 5") + blob(b"")
    seeds = {
        "challenge": frame("CHALLENGE", bytes(range(32))),
        "hello": frame("HELLO", bytes(32) + text(b"worker@host:1") + bytes(range(32))),
        "welcome": frame("WELCOME", bytes(32)),
        "put": frame("PUT", text(b"tasks") + two),
        "get": frame("GET", text(b"tasks") + u32(64) + u32(1000) + u32(30000)),
        "ack": frame("ACK", text(b"tasks") + ids),
        "nack": frame("NACK", text(b"tasks") + ids),
        "renew": frame("RENEW", text(b"tasks") + ids + u32(5000)),
        "finish": frame("FINISH", text(b"tasks") + ids + text(b"results") + two),
        "stats": frame("STATS", text(b"tasks")),
        "inspect": frame("INSPECT", text(b"tasks.dead") + u32(10)),
        "put_ok": frame("PUT_OK", ids),
        "tasks": frame("TASKS", u32(1) + u64(7) + u32(2) + blob(b"TASKID 7 0")),
        "ok": frame("OK", u32(3)),
        "stats_reply": frame("STATS_REPLY", b"".join(u64(i) for i in range(7)) + u32(2)),
        "entries": frame("ENTRIES", u32(2) + u64(1) + u8(2) + u32(1) + text(b"w@h:1")
                         + blob(b"x") + u64(2) + u8(1) + u32(0) + text(b"") + blob(b"")),
        "error": frame("ERROR", u16(3) + text(b"queue tasks is full")),
    }
    seeds["stream"] = b"".join(seeds.values())      # pipelined, as a client sends them
    return seeds


def journal_seeds():
    life = (put(1, b"tasks", b"TASKID 1 0") + put(2, b"tasks", b"TASKID 2 5")
            + ref(DELIVERED, 1, b"tasks") + ref(ACK, 1, b"tasks") + put(3, b"jobs", b"")
            + ref(DELIVERED, 3, b"jobs") + ref(DEAD, 3, b"jobs") + ref(ACK, 9, b"tasks"))
    compacted = record(MAX_ID, 40) + put(7, b"tasks", b"TASKID 7 0", 2) \
        + put(9, b"q", b"p", 5) + ref(DEAD, 9, b"q")
    return {
        "empty": b"",
        "life": life,
        "compacted": compacted,
        "torn": life + put(10, b"tasks", b"TASKID 10 0")[:-3],
        "zero_tail": compacted + bytes(64),
    }


def main():
    assert crc32c(b"123456789") == 0xE3069283      # the check value, RFC 3720 B.4
    for target, seeds in (("wire", wire_seeds()), ("journal", journal_seeds())):
        folder = os.path.join(HERE, "corpus", target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{folder}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
