# Fails or passes by the next letter of $FLAP_PATTERN ('f' fail, 'o' ok);
# the position is kept in $FLAP_COUNTER between runs.
import os, sys
pattern = os.environ["FLAP_PATTERN"]
counter = os.environ["FLAP_COUNTER"]
try:
    with open(counter) as f:
        n = int(f.read())
except FileNotFoundError:
    n = 0
with open(counter, "w") as f:
    f.write(str(n + 1))
ok = pattern[n % len(pattern)] == "o"
print("run", n, "ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
