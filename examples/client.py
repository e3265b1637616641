#!/usr/bin/env python3
"""A co-process SUT for mv-exec --sut cmd:PROGRAM (see mv-exec(1)).

Reads one op per line on stdin, {"id":7,"f":"write","key":"r0","value":3},
and answers one completion per line on stdout, {"id":7,"type":"ok",...},
over an in-memory dict: register, cas-register, kv, counter and set.
"""
import json
import sys
import time

store = {}


def apply(op):
    f, key, value = op["f"], op.get("key"), op.get("value")
    if f in ("read", "get"):
        cur = store.get(key)
        if isinstance(cur, set):
            cur = sorted(cur)
        return {"type": "ok", "value": cur}
    if f in ("write", "put"):
        store[key] = value
        return {"type": "ok", "value": value}
    if f == "cas":
        if store.get(key) != value[0]:
            return {"type": "fail", "error": "mismatch", "value": value}
        store[key] = value[1]
        return {"type": "ok", "value": value}
    if f == "append":
        store[key] = (store.get(key) or "") + value
        return {"type": "ok", "value": value}
    if f == "add" and isinstance(store.get(key, 0), int) and \
            not key.startswith("t"):
        store[key] = store.get(key, 0) + value
        return {"type": "ok", "value": value}
    if f == "add":
        store.setdefault(key, set()).add(value)
        return {"type": "ok", "value": value}
    return {"type": "fail", "error": "unknown-op"}


for line in sys.stdin:
    op = json.loads(line)
    done = apply(op)
    done["id"] = op["id"]
    # This process is the "node": its own wall clock goes into ovc.obs.
    done["node"] = "client.py"
    done["node_time"] = time.time_ns()
    sys.stdout.write(json.dumps(done, separators=(",", ":")) + "\n")
    sys.stdout.flush()
