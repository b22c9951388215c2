"""faiss-cpu HNSW on the vectors the vector bench writes, for the side-by-side table.

Usage: faiss_hnsw.py DIR DIM M EF_CONSTRUCTION EF1,EF2,...  (DIR holds base.f32, queries.f32:
little-endian float32 rows). Prints JSON: build seconds, memory, and per ef the top-10 ids
(0-based rows) and per-query milliseconds. Pinned: numpy==1.26.4 faiss-cpu==1.9.0.post1.
Inner product on unit vectors = cosine, as in Shoebox.
"""
import json
import sys
import time

import faiss
import numpy as np


def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main():
    folder, dim, m, ef_construction, efs = sys.argv[1:6]
    dim, m, ef_construction = int(dim), int(m), int(ef_construction)
    base = np.fromfile(f"{folder}/base.f32", dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(f"{folder}/queries.f32", dtype="<f4").reshape(-1, dim)
    faiss.omp_set_num_threads(2)
    before = resident_mib()
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    started = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - started
    memory = resident_mib() - before
    faiss.omp_set_num_threads(1)
    runs = []
    for ef in [int(e) for e in efs.split(",")]:
        index.hnsw.efSearch = ef
        ids, times = [], []
        for q in queries:
            started = time.perf_counter()
            _, found = index.search(q.reshape(1, -1), 10)
            times.append((time.perf_counter() - started) * 1000)
            ids.append([int(i) for i in found[0]])
        runs.append({"ef": ef, "ids": ids, "times_ms": times})
    json.dump({"build_s": build, "memory_mib": memory, "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
