"""The engine's child process: llama.cpp's own HTTP server (via the prebuilt `xllamacpp` wheel) on loopback.

Why a child: a native crash (SIGSEGV in a CPU kernel, the OOM killer) must end this process, not the run.
The parent (`ttd.llm.local`) sees the exit signal and turns it into one line plus `--resume`.

Protocol: one line `READY <url>` on stdout once the model is loaded; the server's log goes to stderr
(the parent points it at a file). The worker lives until its stdin closes, so it never outlives the parent.
"""

from __future__ import annotations

import argparse
import os
import sys


def build_params(args: argparse.Namespace) -> object:
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.n_parallel = args.parallel
    # One KV pool shared by all slots: each call may use the model's whole context, and a slot's cached
    # prefix stays where it is. Without it n_ctx is divided by n_parallel.
    p.kv_unified = True
    p.n_ctx = args.n_ctx
    p.cont_batching = True
    p.cache_prompt = True  # reuse the slot's KV for the shared prefix of the next prompt
    p.slot_prompt_similarity = 0.1  # route a prompt to the idle slot whose cached prompt it shares most with
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads_batch
    p.cpuparams.poll = args.poll
    p.cpuparams_batch.poll = args.poll
    # The safe CPU path by construction: no extra buffer types (AMX tiles, weight repacking). The AMX
    # buffer's mul_mat segfaults on Sapphire Rapids with Q4_K weights (ggml-org/llama.cpp#20824).
    p.no_extra_bufts = not args.allow_amx
    p.port = 0  # any free loopback port
    p.hostnames = ["127.0.0.1"]
    p.endpoint_slots = True
    p.endpoint_metrics = True
    p.warmup = False
    p.fit_params = False  # fitting to device memory loads the model twice; there is no GPU to fit
    return p


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ttd.llm.engine_worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--threads-batch", type=int, default=1)
    parser.add_argument("--poll", type=int, default=0)
    parser.add_argument("--allow-amx", action="store_true")
    args = parser.parse_args(argv)

    import xllamacpp

    server = xllamacpp.Server(build_params(args))
    print(f"READY {server.listening_address}", flush=True)
    sys.stdin.read()  # EOF: the parent closed the pipe or died
    os._exit(0)  # skip native teardown; the OS frees the model


if __name__ == "__main__":
    main()
