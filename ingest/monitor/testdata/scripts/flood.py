# Floods stdout and stderr with far more than the capture cap, then reports a metric.
import sys
line = "x" * 99 + "\n"
for i in range(50000):
    sys.stdout.write(line)
sys.stderr.write("e" * 1000000)
print("METRIC lines 50000")
print("END OF FLOOD")
