"""Float32 PyTorch forward of a Hugging Face Llama checkpoint folder, for bench/extract-vs-torch.ts.

    /usr/bin/python3 bench/torch_llama_forward.py MODEL_DIR IDS.npy BATCH THREADS [OUT_LAST.npy]

Reads config.json and model.safetensors or the shards of model.safetensors.index.json (F32, F16
or BF16, parsed with numpy through a memory map: no safetensors package needed), runs
every sequence of IDS.npy ([sequences, pos] int32) through the model BATCH rows at a time with
all hidden states kept (as output_hidden_states=True), and prints one JSON line: tokens, seconds
of the forward passes alone, seconds since the interpreter started this script, torch threads.
With OUT_LAST.npy it saves state n_layers//2 of every token (float32, [tokens, d_model]) so the
caller can check both implementations computed the same thing. Written from the Llama maths
(RMSNorm, rotate_half rotary, causal softmax attention, SwiGLU); not a project dependency.
"""
import json
import os
import struct
import sys
import time

T0 = time.time()
import numpy as np  # noqa: E402
import torch  # noqa: E402


def read_safetensors(path, out):
    """Every tensor of one file into `out` as float32 torch tensors, one at a time through a
    memory map (F32, F16 and BF16; BF16 widened by a 16-bit shift), so the peak is the float32
    model plus one tensor rather than the file twice."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.view({"F32": np.float32, "F16": np.float16}[info["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]))
    del data
    return out


def read_checkpoint(model_dir):
    """model.safetensors, or the shards model.safetensors.index.json names."""
    index = f"{model_dir}/model.safetensors.index.json"
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        read_safetensors(f"{model_dir}/{f}", out)
    return out


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def main():
    model_dir, ids_path, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    cfg = json.load(open(f"{model_dir}/config.json"))
    w = read_checkpoint(model_dir)
    ids_all = torch.from_numpy(np.load(ids_path).astype(np.int64))
    n_layers, d = cfg["num_hidden_layers"], cfg["hidden_size"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_heads)
    d_head = cfg.get("head_dim", d // n_heads)
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    pos = ids_all.shape[1]
    window = cfg.get("sliding_window") if cfg.get("model_type") == "mistral" else None
    if window is not None and window < pos:
        raise SystemExit(f"torch_llama_forward: sliding_window {window} < {pos} positions is not implemented here")
    inv_freq = 1.0 / (theta ** (torch.arange(0, d_head, 2, dtype=torch.float32) / d_head))
    angles = torch.outer(torch.arange(pos, dtype=torch.float32), inv_freq)
    emb = torch.cat([angles, angles], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((pos, pos), float("-inf")).triu(1)
    keep = []
    t_fwd = 0.0
    with torch.no_grad():
        for start in range(0, ids_all.shape[0], batch):
            ids = ids_all[start:start + batch]
            t = time.time()
            b = ids.shape[0]
            x = w["model.embed_tokens.weight"][ids]
            states = [x]
            for l in range(n_layers):
                p = f"model.layers.{l}"
                h = rms_norm(x, w[f"{p}.input_layernorm.weight"], eps)
                q = (h @ w[f"{p}.self_attn.q_proj.weight"].T).view(b, pos, n_heads, d_head).transpose(1, 2)
                k = (h @ w[f"{p}.self_attn.k_proj.weight"].T).view(b, pos, n_kv, d_head).transpose(1, 2)
                v = (h @ w[f"{p}.self_attn.v_proj.weight"].T).view(b, pos, n_kv, d_head).transpose(1, 2)
                q = q * cos + rotate_half(q) * sin
                k = k * cos + rotate_half(k) * sin
                if n_kv != n_heads:
                    k = k.repeat_interleave(n_heads // n_kv, dim=1)
                    v = v.repeat_interleave(n_heads // n_kv, dim=1)
                scores = (q @ k.transpose(-1, -2)) / (d_head ** 0.5) + mask  # windows >= pos: plain causal
                a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, pos, n_heads * d_head)
                x = x + a @ w[f"{p}.self_attn.o_proj.weight"].T
                m = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], eps)
                gate = m @ w[f"{p}.mlp.gate_proj.weight"].T
                up = m @ w[f"{p}.mlp.up_proj.weight"].T
                x = x + (torch.nn.functional.silu(gate) * up) @ w[f"{p}.mlp.down_proj.weight"].T
                states.append(x)
            states[-1] = rms_norm(x, w["model.norm.weight"], eps)
            # The states leave the forward as extraction's do: copied out as numpy float16.
            host = [s.numpy().astype(np.float16) for s in states]
            t_fwd += time.time() - t
            keep.append(host[n_layers // 2].astype(np.float32).reshape(-1, d))
    if len(sys.argv) > 5:
        np.save(sys.argv[5], np.concatenate(keep, 0))
    print(json.dumps({"tokens": int(ids_all.numel()), "forward_seconds": t_fwd, "script_seconds": time.time() - T0,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


main()
