# A failing check: complains on stderr and exits 3.
import sys
print("METRIC latency_ms 900 ms")
print("payment gateway returned 502", file=sys.stderr)
sys.exit(3)
