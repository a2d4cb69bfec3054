#!/usr/bin/env python3
"""libopus (the reference Opus codec, Debian's libopus0) through ctypes, for the tests that
check Portunus's Opus against it. Packets files hold each packet as a big-endian u16 length and
its bytes; PCM files are mono signed 16-bit little-endian samples.

    libopus.py encode <in.pcm> <out.packets> <rate> <bitrate>   (20 ms frames)
    libopus.py decode <in.packets> <out.pcm> <rate>   (an empty packet is a lost one)
    libopus.py bench <in.pcm> <rate> <bitrate>   (prints encode (complexity 10) and decode
                                                 microseconds per 20 ms frame, as JSON; the
                                                 benchmark beside ropus)
"""
import ctypes
import ctypes.util
import json
import struct
import sys
import time


def load():
    for name in (ctypes.util.find_library("opus"), "libopus.so.0"):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                pass
    sys.exit("libopus not found (Debian: apt install libopus0)")


def main():
    lib = load()
    err = ctypes.c_int()
    mode, src, dst, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode == "encode":
        lib.opus_encoder_create.restype = ctypes.c_void_p
        enc = lib.opus_encoder_create(rate, 1, 2048, ctypes.byref(err))  # OPUS_APPLICATION_VOIP
        assert err.value == 0, err.value
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), 4002, ctypes.c_int(int(sys.argv[5])))  # SET_BITRATE
        pcm = open(src, "rb").read()
        n = rate // 50
        out = bytearray()
        buf = ctypes.create_string_buffer(1500)
        for i in range(0, len(pcm) // 2 - n + 1, n):
            frame = (ctypes.c_int16 * n).from_buffer_copy(pcm[i * 2:(i + n) * 2])
            size = lib.opus_encode(ctypes.c_void_p(enc), frame, n, buf, 1500)
            assert size > 0, size
            out += struct.pack(">H", size) + buf.raw[:size]
        open(dst, "wb").write(out)
    elif mode == "decode":
        lib.opus_decoder_create.restype = ctypes.c_void_p
        dec = lib.opus_decoder_create(rate, 1, ctypes.byref(err))
        assert err.value == 0, err.value
        data = open(src, "rb").read()
        max_samples = rate * 120 // 1000
        frame = (ctypes.c_int16 * max_samples)()
        out = bytearray()
        at = 0
        while at < len(data):
            (size,) = struct.unpack(">H", data[at:at + 2])
            packet = data[at + 2:at + 2 + size]
            at += 2 + size
            # An empty record is a lost packet: concealed.
            got = lib.opus_decode(ctypes.c_void_p(dec), packet if size else None, size, frame,
                                  max_samples if size else rate // 50, 0)
            assert got > 0, got
            out += bytes(frame)[:got * 2]
        open(dst, "wb").write(out)
    elif mode == "bench":
        rate, bitrate = int(sys.argv[3]), int(sys.argv[4])
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.restype = ctypes.c_void_p
        enc = lib.opus_encoder_create(rate, 1, 2048, ctypes.byref(err))
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), 4002, ctypes.c_int(bitrate))
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), 4010, ctypes.c_int(10))  # SET_COMPLEXITY
        dec = lib.opus_decoder_create(rate, 1, ctypes.byref(err))
        pcm = open(src, "rb").read()
        n = rate // 50
        frames = [(ctypes.c_int16 * n).from_buffer_copy(pcm[i * 2:(i + n) * 2]) for i in range(0, len(pcm) // 2 - n + 1, n)]
        buf = ctypes.create_string_buffer(1500)
        out = (ctypes.c_int16 * (rate * 120 // 1000))()
        packets = []
        t = time.perf_counter()
        for f in frames:
            size = lib.opus_encode(ctypes.c_void_p(enc), f, n, buf, 1500)
            packets.append(buf.raw[:size])
        encode = (time.perf_counter() - t) / len(frames)
        t = time.perf_counter()
        for p in packets:
            lib.opus_decode(ctypes.c_void_p(dec), p, len(p), out, len(out), 0)
        decode = (time.perf_counter() - t) / len(packets)
        print(json.dumps({"encode_us": encode * 1e6, "decode_us": decode * 1e6, "frames": len(frames)}))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
