#!/usr/bin/python3
"""Converts a W4 network state between Brian2 and homeostat, to evaluate one simulator's trained
network in the other's frozen passes.

  Brian2 (bench/peers/w4_brian2.py --save-weights F.npz): w [784, 400] presynaptic-major,
  theta [400] in mV.
  homeostat (runs/<name>/network.ckpt, output.save_state): the checkpoint format of
  src/io/checkpoint.hpp, f64 tensors "input_weights" (presynaptic-major) and "theta" (mV).

Usage: w4_state.py IN.npz OUT.ckpt   or   w4_state.py IN.ckpt OUT.npz
Then: homeostat simulate experiments/w4.toml --set simulation.initial_state="OUT.ckpt"
      --set data.train_images=0   (only the frozen label and test passes)
"""
import json
import struct
import sys
import zlib

import numpy as np

MAGIC = b"HSTATCKP"
VERSION = 1


def read_state(path):
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        sys.exit(f"{path}: not a homeostat checkpoint")
    if struct.unpack("<I", data[-4:])[0] != zlib.crc32(data[:-4]) & 0xFFFFFFFF:
        sys.exit(f"{path}: corrupt (checksum mismatch)")
    (length,) = struct.unpack("<Q", data[12:20])
    header = json.loads(data[20:20 + length])
    if header.get("kind") != "diehl_cook" or header.get("dtype") != "f64":
        sys.exit(f"{path}: not a diehl_cook network state in f64")
    cursor, tensors = 20 + length, {}
    for tensor in header["tensors"]:
        (count,) = struct.unpack("<Q", data[cursor:cursor + 8])
        cursor += 8
        tensors[tensor["name"]] = np.frombuffer(data[cursor:cursor + 8 * count], "<f8").copy()
        cursor += 8 * count
    return header, tensors


def write_state(path, weights, theta):
    header = {"kind": "diehl_cook", "inputs": int(weights.shape[0]),
              "excitatory": int(weights.shape[1]), "theta_unit": "mV",
              "format_version": VERSION, "dtype": "f64",
              "tensors": [{"name": "input_weights", "size": int(weights.size)},
                          {"name": "theta", "size": int(theta.size)}]}
    text = json.dumps(header).encode()
    body = MAGIC + struct.pack("<I", VERSION) + struct.pack("<Q", len(text)) + text
    for values in (weights, theta):
        flat = np.ascontiguousarray(values, dtype="<f8").ravel()
        body += struct.pack("<Q", flat.size) + flat.tobytes()
    open(path, "wb").write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = sys.argv[1], sys.argv[2]
    if source.endswith(".npz"):
        saved = np.load(source)
        write_state(target, saved["w"], saved["theta"])
    else:
        header, tensors = read_state(source)
        weights = tensors["input_weights"].reshape(header["inputs"], header["excitatory"])
        np.savez_compressed(target, w=weights, theta=tensors["theta"])


if __name__ == "__main__":
    main()
