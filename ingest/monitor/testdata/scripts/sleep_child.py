# Spawns a child that sleeps, then sleeps itself past any sane timeout.
import subprocess, time
child = subprocess.Popen(["sleep", "300"])
print("CHILD", child.pid, flush=True)
time.sleep(300)
