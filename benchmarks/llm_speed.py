"""Language-model speed on this machine: transformers against llama.cpp, side by side.

For each packaged GGUF model and each runtime, in a fresh process (so peak memory is
that runtime's own): load time, prefill tokens/s on a prompt of about 1,500 tokens,
greedy decode tokens/s, and peak resident memory. Decode on a CPU is bound by memory
bandwidth, so the report also gives the bytes of weights each runtime reads a token
and the ceiling that implies at the measured bandwidth.

    .venv/bin/python benchmarks/llm_speed.py [--models qwen2.5-0.5b qwen2.5-1.5b]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summarise.packaged import PACKAGED_MODELS, prepare_language_model  # noqa: E402

_DECODE = 64


def _prompt() -> list[dict[str, str]]:
    lines = (ROOT / "tests/data/aci_valid.jsonl").read_text(encoding="utf-8").splitlines()
    turns = json.loads(lines[0])["turns"]
    text = "\n".join(f"{t['speaker']}: {t['text']}" for t in turns)
    words = text.split()[:1100]  # about 1,500 tokens
    return [
        {"role": "system", "content": "You write concise case notes in British English."},
        {"role": "user", "content": " ".join(words) + "\n\nSummarise this visit."},
    ]


def _run_llama(path: Path) -> dict[str, float]:
    from llama_cpp import Llama

    from summarise.model import weights_as_stored

    started = time.perf_counter()
    with weights_as_stored():
        llm = Llama(model_path=str(path), n_ctx=4096, n_threads=os.cpu_count() or 1, verbose=False)
    load = time.perf_counter() - started
    messages = _prompt()
    started = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
    prefill_s = time.perf_counter() - started
    prompt_tokens = out["usage"]["prompt_tokens"]  # type: ignore[index]
    llm.reset()
    started = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=_DECODE, temperature=0.0)
    total = time.perf_counter() - started
    generated = out["usage"]["completion_tokens"]  # type: ignore[index]
    decode_s = max(1e-6, total - prefill_s)
    return {"load_s": load, "prompt_tokens": prompt_tokens, "prefill_tps": prompt_tokens /
            prefill_s, "decode_tps": max(1, generated - 1) / decode_s}  # fmt: skip


def _run_transformers(path: Path) -> dict[str, float]:
    import torch

    from summarise.model import load_drafter

    started = time.perf_counter()
    drafter = load_drafter(path, device="cpu", backend="transformers")
    load = time.perf_counter() - started
    tok, model = drafter._tokenizer, drafter._model  # noqa: SLF001 - measuring internals
    ids = tok.apply_chat_template(_prompt(), add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)["input_ids"]  # fmt: skip
    with torch.inference_mode():
        started = time.perf_counter()
        model(ids)
        prefill_s = time.perf_counter() - started
        started = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=_DECODE,
                             min_new_tokens=_DECODE, do_sample=False)  # fmt: skip
        total = time.perf_counter() - started
    generated = out.shape[1] - ids.shape[1]
    decode_s = max(1e-6, total - prefill_s)
    return {"load_s": load, "prompt_tokens": int(ids.shape[1]),
            "prefill_tps": ids.shape[1] / prefill_s,
            "decode_tps": max(1, generated - 1) / decode_s,
            "dtype": str(next(model.parameters()).dtype)}  # type: ignore[dict-item]  # fmt: skip


def _bandwidth_gbs() -> float:
    block = np.ones(256 * 1024 * 1024 // 8)  # 256 MiB
    best = 0.0
    for _ in range(5):
        started = time.perf_counter()
        block.sum()
        best = max(best, block.nbytes / (time.perf_counter() - started))
    return best / 1e9


def _child(runtime: str, name: str) -> None:
    path = prepare_language_model(name)
    result = (_run_llama if runtime == "llama.cpp" else _run_transformers)(path)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-0.5b", "qwen2.5-1.5b"])
    parser.add_argument("--runtimes", nargs="+", default=["llama.cpp", "transformers"])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    bandwidth = _bandwidth_gbs()
    print(f"measured read bandwidth: {bandwidth:.1f} GB/s on {os.cpu_count()} cores")
    print(f"{'model':<14} {'runtime':<13} {'load s':>7} {'prefill t/s':>12} {'decode t/s':>11} "
          f"{'ceiling t/s':>12} {'peak RSS GB':>12}")  # fmt: skip
    for name in args.models:
        size = PACKAGED_MODELS[name].size
        for runtime in args.runtimes:
            done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [sys.executable, __file__, "--child", runtime, name],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{name:<14} {runtime:<13} failed: {done.stderr.strip()[-200:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            # Bytes read a token: the GGUF as stored for llama.cpp; for transformers the
            # dequantised copy (parameters x bytes per parameter, from its peak memory).
            per_token = size if runtime == "llama.cpp" else r["peak_rss_gb"] * 1e9 * 0.8
            ceiling = bandwidth * 1e9 / per_token
            print(f"{name:<14} {runtime:<13} {r['load_s']:7.1f} {r['prefill_tps']:12.0f} "
                  f"{r['decode_tps']:11.1f} {ceiling:12.1f} {r['peak_rss_gb']:12.2f}"
                  + (f"  ({r['dtype']})" if "dtype" in r else ""), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
