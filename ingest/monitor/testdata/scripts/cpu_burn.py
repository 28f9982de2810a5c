# Spins until the CPU rlimit stops it.
while True:
    pass
