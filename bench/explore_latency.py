"""Response time of the explorer's ``POST /api/trajectory`` (issue 13: target 300 ms)
and of its averaged view ``POST /api/average`` (issue 23: 50 trials, target 300 ms).

The paper VAE (784-1024-100, tanh; random init unless --model RUN, since the time does
not depend on the weights) on the embedded MNIST, served by uvicorn on 127.0.0.1 in a
thread, asked over HTTP with a keep-alive client, as the page asks it: one corrupted
training image, T = 80, every frame, the three distance curves, the path on the PCA
map and, by default, the paper CNN classifier's reading of all 81 frames. Prints the
median, 90th percentile and worst of ``--repeats`` requests after ``--warmup`` ones,
for each case (with and without the classifier, one model and two side by side), the
server's own compute time, and the start-up time (hierarchy and PCA map of the 10 000
training memories). The averaged cases ask for ``--trials`` (50) corrupted training
images of the label, T = 80, with the classifier's reading of every trial's last frame,
the mean image at every step and every single distance trace.

    python bench/explore_latency.py [--repeats 30] [--steps 80] [--threads 2]
                                    [--model RUN] [--classifier RUN]

Run it on a quiet machine: other processes on the same cores distort every figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import best_times, machine, square_peak  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.explore import build_explorer, create_app  # noqa: E402
from latentdyn.explore.server import bind, make_server, url_of  # noqa: E402
from latentdyn.models import VAE, VAEConfig  # noqa: E402
from latentdyn.models.classifier import ClassifierConfig, CNNClassifier  # noqa: E402

TARGET_MS = 300.0


def models(args):
    if args.model:
        from latentdyn.train.runs import load_run

        vae = load_run(args.model)[0]
    else:
        torch.manual_seed(0)
        vae = VAE(VAEConfig(input_dim=784, hidden=1024, nz=100)).eval()
    if args.classifier:
        from latentdyn.train.runs import load_run_of_kind

        clf = load_run_of_kind(args.classifier, "classifier", "--classifier")[0]
    else:
        torch.manual_seed(1)
        clf = CNNClassifier(ClassifierConfig()).eval()  # conv 32-64, dense 128: Fig. B.2
    return vae, clf


def measure(url: str, body: dict, warmup: int, repeats: int,
            route: str = "/api/trajectory") -> dict:
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(warmup):
            client.post(route, json=body).raise_for_status()
        wall, server = [], []
        for k in range(repeats):
            b = {**body, "seed": k}  # a fresh input each time
            if route == "/api/trajectory":
                b["index"] = k % 50
            t0 = time.perf_counter()
            r = client.post(route, json=b)
            wall.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            server.append(r.json()["elapsed_ms"])
    wall.sort()
    return {"median": statistics.median(wall), "p90": wall[int(0.9 * (len(wall) - 1))],
            "max": wall[-1], "server": statistics.median(server), "bytes": len(r.content)}


def limits(vae, trials: int, steps: int, repeats: int) -> dict:
    """What the averaged view's arithmetic costs on this machine, timed in this run:
    the repeated inference alone (``run_dynamics``, the trials as one batch, every x(t)
    kept) and its matrix products alone (the encoder's mean path and the decoder,
    ``trials`` rows each, ``steps`` + 1 encodings and ``steps`` decodings), the best of
    ``repeats``; and the square-matmul peak they are measured against."""
    import torch.nn.functional as F

    from latentdyn.dynamics import run_dynamics

    x = torch.rand(trials, 784)
    h = torch.rand(trials, 1024)
    z = torch.rand(trials, vae.nz)
    enc, out = vae.encoder[0], vae.encoder_out
    dec, dout = vae.decoder[0], vae.decoder_out
    w_mu, b_mu = out.weight[:vae.nz], out.bias[:vae.nz]

    def products():
        for _ in range(steps + 1):
            F.linear(x, enc.weight, enc.bias)
            F.linear(h, w_mu, b_mu)
        for _ in range(steps):
            F.linear(z, dec.weight, dec.bias)
            F.linear(h, dout.weight, dout.bias)

    with torch.no_grad():
        best = best_times({"dynamics": lambda: run_dynamics(vae, x, steps=steps,
                                                            record_x="all"),
                           "products": products}, repeats)
    flops = 2 * trials * ((steps + 1) * (784 * 1024 + 1024 * vae.nz)
                          + steps * (vae.nz * 1024 + 1024 * 784))
    return {**{k: v * 1000 for k, v in best.items()}, "gflop": flops / 1e9,
            "peak": square_peak(repeats=5)}


def serve(explorer):
    sock = bind("127.0.0.1", 0)
    server = make_server(create_app(explorer))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, url_of(sock, "127.0.0.1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trials", type=int, default=50, help="trials of the averaged cases")
    ap.add_argument("--dataset", default="mnist-embedded")
    ap.add_argument("--model", default=None, help="a trained run instead of the random VAE")
    ap.add_argument("--classifier", default=None, help="a classifier run (default: random CNN)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    print(f"machine: {machine()}")
    data = load_dataset(args.dataset)
    vae, clf = models(args)
    body = {"source": "train", "label": 6, "noise": "swap", "p": 0.2, "mode": "deterministic",
            "steps": args.steps}
    avg = {**body, "trials": args.trials, "vary": "images"}
    cases = [("1 model + classifier", [vae], clf, body, "/api/trajectory"),
             ("1 model, no classifier", [vae], None, body, "/api/trajectory"),
             ("2 models + classifier", [vae, vae], clf, body, "/api/trajectory"),
             (f"average {args.trials} + clf", [vae], clf, avg, "/api/average"),
             (f"average {args.trials}, 2 models", [vae, vae], clf, avg, "/api/average")]
    print(f"POST /api/trajectory and /api/average, T = {args.steps}, {args.repeats} requests "
          f"after {args.warmup} warm-up (ms; target {TARGET_MS:.0f} ms for the first case "
          "and for the first average)")
    print(f"{'case':<24} {'start-up s':>10} {'median':>8} {'p90':>8} {'max':>8} "
          f"{'server':>8} {'kB':>6}")
    lim = limits(vae, args.trials, args.steps, max(5, args.repeats // 2))
    print(f"limits of the averaged view ({args.trials} trials, T = {args.steps}): the "
          f"dynamics alone {lim['dynamics']:.1f} ms; its {lim['gflop']:.1f} GFLOP of matrix "
          f"products alone {lim['products']:.1f} ms "
          f"({lim['gflop'] / lim['products'] * 1000:.0f} GFLOP/s, "
          f"{100 * lim['gflop'] / lim['products'] * 1000 / lim['peak']:.0f} % of the "
          f"square-matmul peak {lim['peak']:.0f} GFLOP/s; at the peak "
          f"{lim['gflop'] / lim['peak'] * 1000:.0f} ms)")
    for name, ms, c, b, route in cases:
        t0 = time.perf_counter()
        explorer = build_explorer([(f"vae{k}", "vae", m) for k, m in enumerate(ms)], data, c,
                                  None if c is None else "cnn")
        startup = time.perf_counter() - t0
        server, thread, url = serve(explorer)
        try:
            r = measure(url, b, args.warmup, args.repeats, route)
        finally:
            server.should_exit = True
            thread.join()
        print(f"{name:<24} {startup:>10.2f} {r['median']:>8.1f} {r['p90']:>8.1f} "
              f"{r['max']:>8.1f} {r['server']:>8.1f} {r['bytes'] / 1e3:>6.0f}"
              + (f"   target met: {'yes' if r['median'] <= TARGET_MS else 'NO'}"
                 if name.startswith(("1 model +", "average")) and "2 models" not in name
                 else ""))


if __name__ == "__main__":
    main()
