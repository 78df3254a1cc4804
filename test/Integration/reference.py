"""Independent numpy implementations of the tessera ops.

These follow the op specifications (docs/Dialect.md) literally, with plain
loops where that is clearer than vectorization. They share no code with the
compiler and are the expected values of the execution tests.
"""

import numpy as np


def _f32(a):
    return np.asarray(a, dtype=np.float32)


def attention(q, k, v, bias=None, kv_lens=None, scale=None, causal=False,
              window=0, softcap=0.0):
    """Returns (out, lse) for q [B,Hq,Sq,D], k [B,Hkv,Skv,D], v [B,Hkv,Skv,Dv]."""
    q, k, v = (_f32(a).astype(np.float64) for a in (q, k, v))
    b_, hq, sq, d = q.shape
    _, hkv, skv, dv = v.shape
    group = hq // hkv
    if scale is None:
        scale = 1.0 / np.sqrt(d)
    out = np.zeros((b_, hq, sq, dv))
    lse = np.full((b_, hq, sq), -np.inf)
    for b in range(b_):
        skv_eff = skv if kv_lens is None else int(kv_lens[b])
        for h in range(hq):
            kh = h // group
            s = scale * (q[b, h] @ k[b, kh].T)
            if bias is not None:
                bias64 = _f32(bias).astype(np.float64)
                s = s + bias64[min(b, bias64.shape[0] - 1),
                               min(h, bias64.shape[1] - 1)]
            if softcap:
                s = softcap * np.tanh(s / softcap)
            for i in range(sq):
                diag = i + (skv_eff - sq)
                visible = np.array([
                    j < skv_eff and (not causal or j <= diag) and
                    (window == 0 or j > diag - window) for j in range(skv)
                ])
                if not visible.any():
                    continue
                row = np.where(visible, s[i], -np.inf)
                m = row.max()
                p = np.exp(row - m)
                l = p.sum()
                out[b, h, i] = (p @ v[b, kh]) / l
                lse[b, h, i] = m + np.log(l)
    return out, lse


def latent_attention(q, kv, latent_dim, kv_lens=None, scale=None,
                     causal=False):
    """MLA (absorbed): q [B,H,Sq,L+R], kv [B,Skv,L+R] -> [B,H,Sq,L]."""
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    k = kv[:, None, :, :]
    v = kv[:, None, :, :latent_dim]
    out, _ = attention(q, k, v, kv_lens=kv_lens, scale=scale, causal=causal)
    return out


def route(logits, top_k, scoring="softmax", bias=None, n_group=1,
          topk_group=None, normalize=False, scale=1.0):
    """Returns (weights [T,k] f32, ids [T,k] i32)."""
    logits = _f32(logits).astype(np.float64)
    t_, e_ = logits.shape
    if scoring == "softmax":
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        s = z / z.sum(axis=1, keepdims=True)
    else:
        s = 1.0 / (1.0 + np.exp(-logits))
    sel = s + (0.0 if bias is None else _f32(bias).astype(np.float64))
    topk_group = n_group if topk_group is None else topk_group
    weights = np.zeros((t_, top_k), dtype=np.float32)
    ids = np.zeros((t_, top_k), dtype=np.int32)
    size = e_ // n_group
    for t in range(t_):
        allowed = set(range(e_))
        if n_group > 1:
            scores = []
            for g in range(n_group):
                members = sorted(sel[t, g * size:(g + 1) * size], reverse=True)
                scores.append(sum(members[:2]))
            # Stable sort on -score keeps the lower group first on ties.
            kept = sorted(range(n_group), key=lambda g: -scores[g])[:topk_group]
            allowed = {e for g in kept for e in range(g * size, (g + 1) * size)}
        order = sorted(allowed, key=lambda e: (-sel[t, e], e))[:top_k]
        w = np.array([s[t, e] for e in order])
        if normalize:
            w = w / w.sum()
        weights[t] = w * scale
        ids[t] = order
    return weights, ids


def dispatch(x, ids, num_experts, block=1):
    """Returns (rows [M,d], offsets [E+1] i32, perm [M] i32)."""
    x = _f32(x)
    t_, k_ = ids.shape
    pairs = [[] for _ in range(num_experts)]
    for t in range(t_):
        for slot in range(k_):
            pairs[int(ids[t, slot])].append(t * k_ + slot)
    m = t_ * k_ if block == 1 else t_ * k_ + num_experts * (block - 1)
    rows = np.zeros((m, x.shape[1]), dtype=np.float32)
    perm = np.full((m,), -1, dtype=np.int32)
    offsets = np.zeros((num_experts + 1,), dtype=np.int32)
    r = 0
    for e in range(num_experts):
        offsets[e] = r
        for p in pairs[e]:
            rows[r] = x[p // k_]
            perm[r] = p
            r += 1
        r = -(-r // block) * block if block > 1 else r
    offsets[num_experts] = r
    return rows, offsets, perm


def silu(a):
    return a / (1.0 + np.exp(-a))


def grouped_matmul(rows, weights, offsets, epilogue="none"):
    rows = _f32(rows).astype(np.float64)
    weights = _f32(weights).astype(np.float64)
    out = np.zeros((rows.shape[0], weights.shape[2]))
    for e in range(weights.shape[0]):
        lo, hi = int(offsets[e]), int(offsets[e + 1])
        out[lo:hi] = rows[lo:hi] @ weights[e]
    if epilogue == "swiglu":
        n = out.shape[1] // 2
        out = silu(out[:, :n]) * out[:, n:]
    return out


def combine(y, perm, weights):
    y = _f32(y).astype(np.float64)
    t_, k_ = weights.shape
    out = np.zeros((t_, y.shape[1]))
    for r, p in enumerate(perm):
        if p >= 0:
            out[p // k_] += weights[p // k_, p % k_] * y[r]
    return out


def moe(x, gate_w, w_up, w_down, bias=None, shared_up=None, shared_down=None,
        **route_attrs):
    """A whole MoE layer, token by token (no dispatch), as the model states it."""
    x = _f32(x).astype(np.float64)
    logits = x @ _f32(gate_w).astype(np.float64).T
    weights, ids = route(logits, bias=bias, **route_attrs)
    f = w_down.shape[1]
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        for slot in range(ids.shape[1]):
            e = ids[t, slot]
            a = x[t] @ _f32(w_up[e]).astype(np.float64)
            h = silu(a[:f]) * a[f:]
            out[t] += weights[t, slot] * (h @ _f32(w_down[e]).astype(np.float64))
    if shared_up is not None:
        fs = shared_down.shape[0]
        a = x @ _f32(shared_up).astype(np.float64)
        out += (silu(a[:, :fs]) * a[:, fs:]) @ _f32(shared_down).astype(np.float64)
    return out
