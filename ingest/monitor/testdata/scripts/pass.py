# A passing check that reports metrics both ways.
import json
print("checking the payment flow")
print("METRIC latency_ms 123.5 ms")
print("METRIC items 7")
print(json.dumps({"metrics": {"db_write_ms": 4.25, "queue": {"value": 3, "unit": "jobs"}}}))
print("all good")
