# Prints the rlimits the script runs with.
import resource
for name in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_NPROC"):
    soft, hard = resource.getrlimit(getattr(resource, name))
    print(name, soft, hard)
