"""IDX files (the MNIST family's format) with NumPy only: the peer benchmarks' data.

Fashion-MNIST comes from Debian's package dataset-fashion-mnist, which puts the four files in
/usr/share/datasets/fashion-mnist/; any folder with the same four names, gzipped or not, works.
"""

import gzip
import os
import sys

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
PREFIXES = {"train": "train", "test": "t10k"}


def read_idx(path):
    """One IDX file (gzipped when the name ends in .gz) as a NumPy array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex()})")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    body = raw[4 + 4 * rank:]
    if len(body) != dtype.itemsize * int(np.prod(shape)):
        raise ValueError(f"{path}: {len(body)} bytes of data for shape {shape}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def idx_path(data_dir, stem):
    """data_dir/stem.gz or data_dir/stem; stops the script with a hint when neither exists."""
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    print(f"error: {os.path.join(data_dir, stem)}[.gz] not found. Fashion-MNIST comes from "
          "Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist); "
          "--data-dir names another folder of IDX files", file=sys.stderr)
    sys.exit(2)


def load_split(data_dir, split):
    """(images uint8 [N, 28, 28], labels uint8 [N]) of split 'train' or 'test'."""
    prefix = PREFIXES[split]
    images = read_idx(idx_path(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(idx_path(data_dir, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        print(f"error: {data_dir}: {split} images {images.shape} and labels {labels.shape} do "
              "not match", file=sys.stderr)
        sys.exit(2)
    return images, labels
