"""asv benchmark suites of mi-harness (``asv.conf.json``: ``benchmark_dir = "benchmarks"``).

asv imports every module in this folder: the suites are ``bench_*.py``
(``time_*``, ``peakmem_*``, ``track_*``); the stand-alone scripts and
``python -m benchmarks.<name>`` tools (``speed_classical``, ``infonet_latency``,
``mixture_errors``, ...) only do work under ``if __name__ == "__main__"``.

    asv machine --yes
    asv run --python=same --quick
"""
