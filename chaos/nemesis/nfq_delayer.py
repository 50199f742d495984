"""The NFQUEUE delayer: a userspace stand-in for ``tc netem`` on kernels without ``sch_netem``.

Run on a node (``python nfq_delayer.py --queue 1 --delay-ms 100 --jitter-ms 10``) after an iptables
rule sends its packets to the queue (``-j NFQUEUE --queue-num 1 --queue-bypass``). Each packet is
held for ``delay ± jitter`` ms and then accepted; with ``--reorder P`` a packet skips the delay with
probability P (netem's reordering: it overtakes the held ones), with ``--duplicate P`` a copy is
sent again through a raw socket whose packets carry mark ``DUP_MARK`` (the iptables rule skips
marked packets, so copies are not queued again), with ``--loss P`` it is dropped. Needs the
``netfilterqueue`` binding (recipes 1.4). If the daemon dies, ``--queue-bypass`` lets packets pass.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import select
import signal
import socket
import time

DUP_MARK = 0x6363


def main() -> None:
    from netfilterqueue import NetfilterQueue

    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, required=True)
    for name in ("delay-ms", "jitter-ms", "loss", "duplicate", "reorder"):
        ap.add_argument(f"--{name}", type=float, default=0.0)
    a = ap.parse_args()
    held: list = []
    order = itertools.count()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, DUP_MARK)

    def on_packet(pkt) -> None:
        if a.loss and random.random() < a.loss:
            pkt.drop()
            return
        if a.duplicate and random.random() < a.duplicate:
            payload = pkt.get_payload()
            raw.sendto(payload, (socket.inet_ntoa(payload[16:20]), 0))
        if a.reorder and random.random() < a.reorder:
            pkt.accept()
            return
        delay = a.delay_ms + (random.uniform(-a.jitter_ms, a.jitter_ms) if a.jitter_ms else 0.0)
        pkt.retain()
        heapq.heappush(held, (time.monotonic() + max(delay, 0.0) / 1000, next(order), pkt))

    nfq = NetfilterQueue()
    nfq.bind(a.queue, on_packet, max_len=8192)
    fd = nfq.get_fd()
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"delayer on queue {a.queue} ready", flush=True)
    try:
        while running:
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
            wait = max(0.0, held[0][0] - now) if held else 0.5
            if select.select([fd], [], [], wait)[0]:
                nfq.run(block=False)
    finally:
        for _, _, pkt in held:
            pkt.accept()
        nfq.unbind()


if __name__ == "__main__":
    main()
