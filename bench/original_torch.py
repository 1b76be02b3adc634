"""The original notebook's score in PyTorch, for side-by-side timings (`npm run bench`).

Usage: python3 bench/original_torch.py X.npy Y.npy
Prints one line: the score, then seconds for load and score. Never a project dependency:
bench/widths.ts runs it only when `python3 -c "import torch"` works (Debian's python3-torch).
The formula is the original's (normalize; A = V diag(1/S) U^T Y from torch.linalg.svd; score
1 - ||X A - Y||_F^2), in float32 as the original ran it.
"""
import sys
import time

import numpy as np
import torch


def normalize(x):
    x = x - x.mean(dim=0, keepdim=True)
    return x / torch.linalg.norm(x)


def get_A_est(X, Y):
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    return Vh.T @ torch.diag(1.0 / S) @ U.T @ Y


def compute_linearity_score(x, y):
    X, Y = normalize(x), normalize(y)
    A = get_A_est(X, Y)
    return 1 - torch.linalg.norm(X @ A - Y) ** 2


t0 = time.perf_counter()
x = torch.from_numpy(np.load(sys.argv[1]).astype(np.float32))
y = torch.from_numpy(np.load(sys.argv[2]).astype(np.float32))
t1 = time.perf_counter()
score = compute_linearity_score(x, y).item()
t2 = time.perf_counter()
print(f"{score:.6f} load {t1 - t0:.2f} s score {t2 - t1:.2f} s threads {torch.get_num_threads()}")
