"""The machine's fp32 peak: measured by bench/fma_peak when that binary is given (an FMA loop on
every thread: the number to trust, boost clocks included), else derived from /proc/cpuinfo:
cores x GHz x FLOPs/cycle/core.

FLOPs/cycle/core = FMA pipes x fp32 lanes per pipe x 2 (an FMA is two FLOPs). The pipe table is
an assumption by microarchitecture, stated in the result:
  - AMD family 0x19 (Zen 3/4): 2 FMA pipes of 256 bits; AVX-512 on Zen 4 is executed as two
    256-bit halves, so 2 x 8 x 2 = 32 FLOPs/cycle with or without AVX-512.
  - AMD family 0x1a (Zen 5): 2 FMA pipes of 512 bits on server parts: 64 FLOPs/cycle.
  - Intel with AVX-512: 2 FMA units of 512 bits (Xeon Gold/Platinum): 64 FLOPs/cycle.
  - otherwise AVX2+FMA: 2 x 256-bit FMA: 32; no FMA: 8 (SSE mul + add).
The clock is `cpu MHz` of /proc/cpuinfo (on a VM the nominal TSC clock; a core that boosts above
it makes the real peak higher and our fraction of it lower).
"""

import json
import os
import subprocess


def _cpuinfo() -> dict:
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" not in line:
                if info:
                    break  # first processor's block only
                continue
            key, value = (s.strip() for s in line.split(":", 1))
            info.setdefault(key, value)
    return info


def fp32_peak(threads: int) -> dict:
    """Peak GFLOP/s for `threads` threads (one per core), with the derivation spelled out."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    vendor, family = info.get("vendor_id", ""), int(info.get("cpu family", "0"))
    ghz = float(info.get("cpu MHz", "0")) / 1000
    cores = len(os.sched_getaffinity(0))
    if vendor == "AuthenticAMD" and family == 0x19:
        pipes, lanes, why = 2, 8, "AMD Zen 3/4 (family 0x19): 2 FMA pipes x 256 bit (AVX-512 double-pumped)"
    elif vendor == "AuthenticAMD" and family >= 0x1a:
        pipes, lanes, why = 2, 16, "AMD Zen 5 (family 0x1a): 2 FMA pipes x 512 bit"
    elif "avx512f" in flags:
        pipes, lanes, why = 2, 16, "AVX-512: assumed 2 FMA units x 512 bit"
    elif "fma" in flags:
        pipes, lanes, why = 2, 8, "AVX2+FMA: 2 FMA units x 256 bit"
    else:
        pipes, lanes, why = 1, 4, "no FMA: SSE multiply + add, 1 each"
    flops_per_cycle = pipes * lanes * 2
    used = max(1, min(threads, cores))
    peak = used * ghz * flops_per_cycle
    return {
        "cpu": info.get("model name", "?"),
        "cores": cores,
        "threads_used": used,
        "ghz": ghz,
        "flops_per_cycle_per_core": flops_per_cycle,
        "gflops_peak": peak,
        "derivation": f"{used} cores x {ghz:.3f} GHz (cpu MHz) x {flops_per_cycle} FLOP/cycle "
                      f"({why}; fp32, FMA = 2 FLOPs) = {peak:.1f} GFLOP/s",
    }


def measured_peak(threads: int, fma_peak_binary: str) -> dict:
    """The peak bench/fma_peak measures on `threads` threads; the derived one when it cannot run."""
    derived = fp32_peak(threads)
    if not fma_peak_binary or not os.path.exists(fma_peak_binary):
        return derived
    env = dict(os.environ, OMP_NUM_THREADS=str(derived["threads_used"]))
    try:
        out = json.loads(subprocess.run([fma_peak_binary], capture_output=True, text=True, env=env,
                                        timeout=60, check=True).stdout)
    except (subprocess.SubprocessError, json.JSONDecodeError, OSError):
        return derived
    isa = "avx512" if "avx512_gflops_all" in out else "avx2"
    if f"{isa}_gflops_all" not in out:
        return derived
    peak = out[f"{isa}_gflops_all"]
    return dict(derived, gflops_peak=peak,
                derivation=f"measured by bench/fma_peak: {isa.upper()} FMA loop on {derived['threads_used']} "
                           f"threads = {peak:.1f} GFLOP/s (derived from the nominal clock: "
                           f"{derived['gflops_peak']:.1f})")


if __name__ == "__main__":
    print(fp32_peak(len(os.sched_getaffinity(0)))["derivation"])
