#!/usr/bin/env python3
"""PyTorch peer of `chempysbi train-npe`: a conditional masked autoregressive flow of the
same size as sbi's default `maf` (the paper's NPE), written in plain PyTorch after nflows:

  D = 6 parameters, C = 8 context (abundances), 4 transforms, each a MADE with
  8 hidden features, an initial masked layer plus 2 hidden masked layers (tanh),
  context added to the first hidden layer through a dense layer, affine output
  (scale = softplus(u) + 1e-3, shift), reversed permutation between transforms,
  standard-normal base; batch 50, Adam lr 5e-4, gradient-norm clip 5, 10% validation
  pass every epoch (as sbi does).

nflows and sbi are not packaged in Debian; this script has the same layers and masks
(sequential degrees as nflows' MADE with random_mask=False), so it does the same
arithmetic per sample. The data are random numbers of the right shapes (the time per
epoch does not depend on the values).

Prints per-epoch lines and final machine-readable lines:
  TORCH maf_train threads=T n=N sec_per_epoch=S
  TORCH maf_sample threads=T samples=M samples_per_s=R
"""
import argparse
import time

import torch
import torch.nn.functional as F


class MaskedLinear(torch.nn.Linear):
    def __init__(self, in_deg, out_deg, strict):
        super().__init__(len(in_deg), len(out_deg))
        m = (out_deg[:, None] > in_deg[None, :]) if strict else (out_deg[:, None] >= in_deg[None, :])
        self.register_buffer("mask", m.float())

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(torch.nn.Module):
    """nflows MADE: initial masked layer (+ dense context layer), `blocks` masked
    feed-forward blocks (linear, tanh), masked output layer with 2 outputs per feature."""

    def __init__(self, D, C, H, blocks):
        super().__init__()
        self.D = D
        in_deg = torch.arange(1, D + 1)
        hid_deg = torch.arange(H) % max(1, D - 1) + min(1, D - 1)
        self.initial = MaskedLinear(in_deg, hid_deg, strict=False)
        self.context = torch.nn.Linear(C, H)
        self.hidden = torch.nn.ModuleList([MaskedLinear(hid_deg, hid_deg, strict=False) for _ in range(blocks)])
        out_deg = in_deg.repeat_interleave(2)
        self.final = MaskedLinear(hid_deg, out_deg, strict=True)

    def forward(self, x, ctx):
        h = self.initial(x) + self.context(ctx)
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        p = self.final(h).view(-1, self.D, 2)
        return p[..., 0], p[..., 1]


class MAF(torch.nn.Module):
    def __init__(self, D=6, C=8, K=4, H=8, blocks=2):
        super().__init__()
        self.D = D
        self.mades = torch.nn.ModuleList([MADE(D, C, H, blocks) for _ in range(K)])

    def log_prob(self, theta, ctx):
        z, logdet = theta, 0.0
        for made in self.mades:
            u, shift = made(z, ctx)
            scale = F.softplus(u) + 1e-3
            z = z * scale + shift
            logdet = logdet + torch.log(scale).sum(1)
            z = z.flip(1)  # reversed permutation
        return -0.5 * (z * z).sum(1) - 0.5 * self.D * 1.8378770664093453 + logdet

    @torch.no_grad()
    def sample(self, ctx, n):
        """n samples for one context: invert the transforms, each autoregressively (D MADE passes)."""
        c = ctx.expand(n, -1)
        z = torch.randn(n, self.D)
        for made in reversed(self.mades):
            z = z.flip(1)
            x = torch.zeros_like(z)
            for _ in range(self.D):
                u, shift = made(x, c)
                scale = F.softplus(u) + 1e-3
                x = (z - shift) / scale
            z = x
        return z


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100000, help="simulations (90%% train, 10%% validation)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--samples", type=int, default=100000, help="posterior samples to time (0 = skip)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    theta = torch.randn(a.n, 6)
    x = torch.randn(a.n, 8)
    ntr = a.n - a.n // 10
    flow = MAF()
    nweights = sum(p.numel() for p in flow.parameters())
    opt = torch.optim.Adam(flow.parameters(), lr=a.lr)
    times = []
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(ntr)
        th, cx = theta[perm], x[perm]
        tot, nb = 0.0, 0
        for i in range(0, ntr, a.batch):
            opt.zero_grad(set_to_none=True)
            loss = -flow.log_prob(th[i:i + a.batch], cx[i:i + a.batch]).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
            opt.step()
            tot += loss.item()
            nb += 1
        with torch.no_grad():
            val = 0.0
            for i in range(ntr, a.n, 1000):
                val -= flow.log_prob(theta[i:i + 1000], x[i:i + 1000]).sum().item()
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"epoch {ep + 1} train_nll {tot / nb:.4f} val_nll {val / (a.n - ntr):.4f} {dt:.3f} s", flush=True)
    best = min(times)
    print(f"TORCH maf_train threads={a.threads} n={a.n} weights={nweights} epochs={a.epochs} "
          f"torch={torch.__version__} sec_per_epoch={best:.4f}")
    if a.samples > 0:
        ctx = torch.randn(1, 8)
        flow.sample(ctx, 1000)  # warm-up
        t0 = time.perf_counter()
        flow.sample(ctx, a.samples)
        dt = time.perf_counter() - t0
        print(f"TORCH maf_sample threads={a.threads} samples={a.samples} seconds={dt:.4f} "
              f"samples_per_s={a.samples / dt:.4g}")


if __name__ == "__main__":
    main()
