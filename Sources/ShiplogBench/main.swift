// The benchmark harness; see tools/bench.
print("shiplog-bench")
