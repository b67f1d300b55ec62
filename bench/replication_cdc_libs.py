"""Which way to read PostgreSQL's logical replication stream: latency and CPU, side by side.

Compares, on the embedded PostgreSQL 16 (pgserver, ``wal_level=logical``, ``pgoutput``):

* ``poll``: psycopg 3 polling ``pg_logical_slot_peek_binary_changes`` over plain SQL every
  ``--poll`` seconds, decoded by adw's ``cdc_pgoutput``, the slot advanced after each batch;
* ``stream``: psycopg2's ``LogicalReplicationConnection`` (the streaming replication
  protocol), decoded by adw's ``cdc_pgoutput``, feedback after each message;
* ``pypgoutput``: the same stream decoded by pypgoutput's decoders (the only pgoutput decoder
  on PyPI that installs here: 0.0.3 of 2022, psycopg2 only; ``pgoutput-decoder`` 0.1.0 is an
  sdist that builds a Rust crate, which needs crates.io).

A producer commits one insert at a time at ``--rate`` per second for ``--seconds``; each
consumer (its own process, in the Python given by ``--python``: it needs psycopg, psycopg2-binary
and pypgoutput, which adw does not depend on) records when it decoded each row. Printed: p50 /
p95 latency from just before the commit to the decoded change, and CPU seconds of the consumer
and of its server backend (the walsender or the SQL session) per 1,000 changes.

    python -m venv /tmp/cdcb && /tmp/cdcb/bin/pip install psycopg[binary] psycopg2-binary pydantic
    /tmp/cdcb/bin/pip install --no-deps pypgoutput
    .venv/bin/python bench/replication_cdc_libs.py --python /tmp/cdcb/bin/python
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
DECODER = REPO / "adw_assets" / "lib" / "replication" / "cdc_pgoutput.py"

CONSUMER = r"""
import importlib.util, json, os, sys, time
kind, dsn, slot, pub, n, poll, decoder_path = sys.argv[1:8]
n, poll = int(n), float(poll)
spec = importlib.util.spec_from_file_location("cdc_pgoutput", decoder_path)
dec = importlib.util.module_from_spec(spec); sys.modules["cdc_pgoutput"] = dec
spec.loader.exec_module(dec)
seen = {}
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
started = time.process_time()
if kind == "poll":
    import psycopg
    conn = psycopg.connect(dsn, autocommit=True)
    pid = conn.info.backend_pid
    opts = ("proto_version", "1", "publication_names", pub)
    q = ("select lsn::text, data from pg_logical_slot_peek_binary_changes(%s, null, null, "
         "%s, %s, %s, %s)")
    while len(seen) < n:
        rows = conn.execute(q, (slot, *opts)).fetchall()
        last = None
        for lsn, data in rows:
            m = dec.decode(data)
            if isinstance(m, dec.Change):
                seen[m.values[0]] = time.time()
            elif isinstance(m, dec.Commit):
                last = m.end_lsn
        if last is not None:
            conn.execute("select pg_replication_slot_advance(%s, %s::pg_lsn)",
                         (slot, dec.lsn_text(last)))
        else:
            time.sleep(poll)
    server = cpu(pid)
else:
    import psycopg2, psycopg2.extras
    conn = psycopg2.connect(dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    pid = conn.get_backend_pid()
    cur = conn.cursor()
    cur.start_replication(slot_name=slot, decode=False,
                          options={"proto_version": "1", "publication_names": pub})
    if kind == "pypgoutput":
        from pypgoutput import decoders as pd
        def handle(msg):
            payload = msg.payload
            if payload[:1] == b"I":
                ins = pd.Insert(payload)
                seen[ins.new_tuple.column_data[0].col_data] = time.time()
    else:
        def handle(msg):
            m = dec.decode(msg.payload)
            if isinstance(m, dec.Change):
                seen[m.values[0]] = time.time()
    class Done(Exception):
        pass
    def consume(msg):
        handle(msg)
        msg.cursor.send_feedback(flush_lsn=msg.data_start)
        if len(seen) >= n:
            raise Done
    try:
        cur.consume_stream(consume)
    except Done:
        pass
    server = cpu(pid)
print(json.dumps({"seen": seen, "client_cpu": time.process_time() - started,
                  "server_cpu": server}))
"""


def start_server(pgdata: Path) -> str:
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("alter system set wal_level = logical")
    server.cleanup()
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return server


def run(kind: str, python: str, dsn: str, rate: float, seconds: float, poll: float) -> dict:
    slot, pub = f"bench_{kind}", "bench_pub"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    n = int(rate * seconds)
    consumer = subprocess.Popen(
        [python, "-c", CONSUMER, kind, dsn, slot, pub, str(n), str(poll), str(DECODER)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)  # the consumer connects
    sent: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        for i in range(n):
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            key = f"{kind}-{i}"
            conn.execute("insert into t (k, v) values (%s, 'x')", (key,))
            sent[key] = time.time()
            conn.commit()
    out, _ = consumer.communicate(timeout=120)
    got = json.loads(out)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_drop_replication_slot(%s)", (slot,))
    lat = sorted(got["seen"][k] - sent[k] for k in sent if k in got["seen"])
    q = statistics.quantiles(lat, n=100)
    per_k = 1000 / n
    return {
        "kind": kind, "changes": len(lat), "p50": q[49], "p95": q[94],
        "client_cpu": got["client_cpu"] * per_k, "server_cpu": got["server_cpu"] * per_k,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", required=True, help="a Python with psycopg2-binary, pypgoutput")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--poll", type=float, default=0.1, help="poll interval of `poll` (s)")
    args = ap.parse_args()
    pgdata = Path(tempfile.mkdtemp(prefix="adw-bench-cdc-"))
    server = start_server(pgdata)
    try:
        dsn = server.get_uri("postgres")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create table t (k text primary key, v text)")
            conn.execute("create publication bench_pub for table t")
        rows = [
            run(kind, args.python, dsn, args.rate, args.seconds, args.poll)
            for kind in ("poll", "stream", "pypgoutput")
        ]
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
    print(f"\n{args.rate:.0f} commits/s for {args.seconds:.0f} s, poll every {args.poll} s")
    print("| reader | changes | p50 s | p95 s | client CPU s / 1k | server CPU s / 1k |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['changes']:,} | {r['p50']:.3f} | {r['p95']:.3f} | "
              f"{r['client_cpu']:.3f} | {r['server_cpu']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
