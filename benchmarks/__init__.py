"""asv benchmark suites of mi-harness (``asv.conf.json``: ``benchmark_dir = "benchmarks"``).

asv imports every module in this folder: the suites are ``bench_*.py``
(``time_*``, ``peakmem_*``, ``track_*``); the stand-alone scripts
(``speed_classical.py``, ``speed_variational.py``, ``infonet_latency.py``)
only do work under ``if __name__ == "__main__"``.

    asv machine --yes
    asv run --python=same --quick
"""
