"""The original notebook's score in float32 PyTorch, for the accuracy tests' tolerance.

Usage: python3 test/metrics/original_float32.py DIR
For every folder DIR/<case>/ holding x.npy and y.npy (float32 [tokens, d_model]) prints one JSON
object {case: [score, residual_score]}: the original's compute_linearity_score(x, y) and, as
LLM-Microscope computes "without the residual", compute_linearity_score(x, y - x), both in float32
as the original ran them (normalize; A from torch.linalg.svd with no cut-off; 1 - ||X A - Y||^2).
test/metrics/accuracy.test.ts allows our score to be as far from the least-squares fit of the
stored values as this formula is (or 1e-6). Never a project dependency: the test skips where
`python3 -c "import torch"` fails.
"""
import json
import os
import sys

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


out = {}
root = sys.argv[1]
for case in sorted(os.listdir(root)):
    x = torch.from_numpy(np.load(os.path.join(root, case, "x.npy")).astype(np.float32))
    y = torch.from_numpy(np.load(os.path.join(root, case, "y.npy")).astype(np.float32))
    out[case] = [float(compute_linearity_score(x, y)), float(compute_linearity_score(x, y - x))]
print(json.dumps(out))
