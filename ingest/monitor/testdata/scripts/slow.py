# Takes a moment, so that concurrent runs overlap.
import time
time.sleep(1)
print("METRIC slept_s 1 s")
