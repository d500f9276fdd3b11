#!/usr/bin/python3
"""lmdbtouch.py: what each LMDB database of each daemon wrote in a window.

Reads the *.touch files a DOUDI_LMDB_TOUCH build writes (lmdb_touch.h) and
prints, for each process, database and kind of write (put or del), the writes and the fresh pages (the
first write of a transaction to a clean page: a page the commit writes)
between the last line at or before the window's start and the last line at
or before its end.

    DOUDI_LMDB_TOUCH_DIR=/tmp/touch provbench.py --bin BUILD/bin ... --json r.json
    lmdbtouch.py /tmp/touch --json r.json        # the month's window
    lmdbtouch.py /tmp/touch --from T0 --to T1    # unix seconds
"""
import argparse
import glob
import json
import os
import sys


def read_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 2:
                continue
            dbs = {}
            for i in range(2, len(w) - 2, 3):
                dbs[w[i]] = (int(w[i + 1]), int(w[i + 2]))
            out.append((float(w[0]), int(w[1]), dbs))
    return out


def at(lines, t):
    last = (t, 0, {})
    for line in lines:
        if line[0] > t:
            break
        last = line
    return last


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="the DOUDI_LMDB_TOUCH_DIR the daemons wrote to")
    ap.add_argument("--json", help="a provbench result: its month's window")
    ap.add_argument("--from", dest="t0", type=float, help="window start, unix seconds")
    ap.add_argument("--to", dest="t1", type=float, help="window end, unix seconds")
    ap.add_argument("--page-bytes", type=int, default=4096)
    args = ap.parse_args()
    t0, t1 = args.t0, args.t1
    if args.json:
        m = json.load(open(args.json))["month"]
        t0, t1 = m["wall_start_unix"], m["wall_end_unix"]
    if t0 is None or t1 is None:
        ap.error("give --json or both --from and --to")
    files = sorted(glob.glob(os.path.join(args.dir, "*.touch")))
    if not files:
        sys.exit(f"lmdbtouch: no *.touch files in {args.dir}")
    print(f"window {t1 - t0:.1f} s; fresh pages x {args.page_bytes} bytes")
    for path in files:
        lines = read_lines(path)
        a, b = at(lines, t0), at(lines, t1)
        rows = []
        for db, (w, f) in b[2].items():
            w0, f0 = a[2].get(db, (0, 0))
            if w - w0:
                rows.append((f - f0, w - w0, db))
        if not rows:
            continue
        print(f"{os.path.basename(path)}: {b[1] - a[1]} write transactions")
        for fresh, writes, db in sorted(rows, reverse=True):
            print(f"  {db:24s} {writes:12,d} writes {fresh:10,d} fresh pages "
                  f"{fresh * args.page_bytes / 2**20:9,.0f} MiB")


if __name__ == "__main__":
    main()
