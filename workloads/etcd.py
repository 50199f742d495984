"""etcd clients over the v3 JSON gateway (``POST /v3/kv/range|put|txn``, base64 keys and values)
with httpx, and the one table that classifies their errors.

Each workload keeps its keys under ``chaoscert/<workload>/``:

- register: ``read`` is a linearizable range; ``write`` a put; ``cas [old new]`` a txn comparing
  the value with ``old`` (``succeeded: false`` is a definite ``fail``);
- list-append / rw-register: one optimistic transaction: read every key the txn touches in one
  txn (a snapshot), apply the micro-ops locally, then commit the writes in a txn that compares
  each key's ``mod_revision`` with the snapshot's (0 for an absent key); a changed key is a
  definite ``fail`` (``conflict``). Reads and writes are then strictly serializable;
- set: a key per element; ``read`` is a range over the prefix.

Errors: a connection that could not be made is ``fail`` (nothing was sent); a timeout or a
connection lost after the request was sent, or a server error the table does not mark definite, is
``info``; read-only ops are ``fail`` whatever happened (they changed nothing).
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any, Protocol

import httpx

from checkers.history import ANSWERED, Op
from clusters.endpoint import Endpoint
from workloads.client import complete
from workloads.errors import Classified, by_table, indeterminate
from workloads.sql import Refused

__all__ = ["GRPC_CODES", "EtcdClient", "EtcdError", "EtcdRegister", "EtcdSet", "EtcdTxn", "Gateway", "classify"]

PREFIX = "chaoscert/"

# gRPC status code in the gateway's error body -> (outcome, name)
GRPC_CODES: dict[int, tuple[str, str]] = {
    3: ("fail", "invalid-argument"),
    5: ("fail", "not-found"),
    7: ("fail", "permission-denied"),
    8: ("fail", "resource-exhausted"),  # etcdserver: too many requests: refused before proposing
    16: ("fail", "unauthenticated"),
    1: ("info", "canceled"),
    4: ("info", "deadline-exceeded"),
    10: ("info", "aborted"),
    13: ("info", "internal"),
    14: ("info", "unavailable"),  # leader changed, request timed out: the proposal may commit
}


class EtcdError(Exception):
    """A gateway answer other than 200: the gRPC code and message."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def classify(exc: BaseException, *, committing: bool) -> Classified:
    """``committing``: the request that may change state was sent."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Classified("fail", f"connect-failed: {exc}"[:200])
    if isinstance(exc, EtcdError) and exc.code in GRPC_CODES:
        return by_table(GRPC_CODES[exc.code], committing=committing, detail=exc.message)
    if isinstance(exc, httpx.TimeoutException):
        return by_table(("info", "timeout"), committing=committing, detail=type(exc).__name__)
    if isinstance(exc, httpx.TransportError):
        return by_table(("info", "lost-connection"), committing=committing, detail=str(exc))
    return indeterminate(exc)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _text(b64: str | None) -> str:
    return base64.b64decode(b64 or "").decode()


class Gateway:
    """The JSON gateway of one etcd member."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self._http = httpx.Client(base_url=f"http://{endpoint.host}:{endpoint.port}", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(f"/v3/{path}", json=body)
        data = response.json() if response.content else {}
        if response.status_code != 200:
            raise EtcdError(data.get("code"), str(data.get("message") or data.get("error") or response.text)[:200])
        return data

    def get(self, key: str) -> tuple[str | None, str]:
        """The value (None when absent) and the key's mod_revision ("0" when absent)."""
        kvs = self.call("kv/range", {"key": _b64(key)}).get("kvs") or []
        return (_text(kvs[0].get("value")), kvs[0]["mod_revision"]) if kvs else (None, "0")

    def put(self, key: str, value: str) -> None:
        self.call("kv/put", {"key": _b64(key), "value": _b64(value)})

    def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]]) -> dict[str, Any]:
        return self.call("kv/txn", {"compare": compare, "success": success})

    def delete_prefix(self, prefix: str) -> None:
        self.call("kv/deleterange", {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))})

    def keys(self, prefix: str) -> list[str]:
        body = {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix)), "keys_only": True}
        return [_text(kv["key"]) for kv in self.call("kv/range", body).get("kvs") or []]


def _prefix_end(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class EtcdOps(Protocol):
    prefix: str

    def read_only(self, op: Op) -> bool: ...

    def apply(self, gw: Gateway, op: Op) -> Any:
        """Do ``op``; the completion's value. Raises Refused when it surely did not happen."""


class EtcdClient:
    """One gateway connection per process."""

    def __init__(self, ops: EtcdOps, *, timeout: float = 5.0) -> None:
        self.ops, self.timeout = ops, timeout
        self._endpoint: Endpoint | None = None
        self._gw: Gateway | None = None

    def open(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def close(self) -> None:
        if self._gw is not None:
            with contextlib.suppress(httpx.HTTPError):
                self._gw.close()
            self._gw = None

    def setup(self) -> None:
        self._gateway().delete_prefix(self.ops.prefix)
        self.close()

    def invoke(self, op: Op) -> Op:
        try:
            return complete(op, "ok", self.ops.apply(self._gateway(), op))
        except Refused as refusal:
            return complete(op, "fail", error=str(refusal), extra={ANSWERED: True})
        except (httpx.HTTPError, EtcdError, ValueError) as e:  # ValueError: a body that is not JSON
            self.close()
            outcome = classify(e, committing=not self.ops.read_only(op))
            return complete(op, outcome.type, error=outcome.error)

    def _gateway(self) -> Gateway:
        if self._gw is None:
            if self._endpoint is None:
                raise RuntimeError("etcd client used before open()")
            self._gw = Gateway(self._endpoint, self.timeout)
        return self._gw


class EtcdRegister:
    prefix = PREFIX + "register/"

    def read_only(self, op: Op) -> bool:
        return op.f == "read"

    def apply(self, gw: Gateway, op: Op) -> Any:
        key, value = op.value
        name = f"{self.prefix}{key}"
        if op.f == "read":
            stored, _ = gw.get(name)
            return [key, None if stored is None else int(stored)]
        if op.f == "write":
            gw.put(name, str(value))
            return op.value
        if op.f == "cas":
            old, new = value
            done = gw.txn([{"key": _b64(name), "target": "VALUE", "result": "EQUAL", "value": _b64(str(old))}],
                          [{"requestPut": {"key": _b64(name), "value": _b64(str(new))}}])
            if not done.get("succeeded"):
                raise Refused("cas-mismatch")
            return op.value
        raise ValueError(f"register: unknown f {op.f!r}")


class EtcdTxn:
    """list-append (``append``) or rw-register (``w``) transactions, optimistic on mod_revision."""

    def __init__(self, write: str) -> None:
        self.write = write
        self.prefix = PREFIX + ("la/" if write == "append" else "rw/")

    def read_only(self, op: Op) -> bool:
        return all(f == "r" for f, _, _ in op.value)

    def apply(self, gw: Gateway, op: Op) -> Any:
        keys = list(dict.fromkeys(k for _, k, _ in op.value))
        snapshot = gw.txn([], [{"requestRange": {"key": _b64(f"{self.prefix}{k}")}} for k in keys])
        state, revision = {}, {}
        for k, response in zip(keys, snapshot.get("responses") or [], strict=True):
            kvs = response["response_range"].get("kvs") or []
            state[k] = self._parse(_text(kvs[0].get("value")) if kvs else None)
            revision[k] = kvs[0]["mod_revision"] if kvs else "0"
        out, written = [], set()
        for f, k, v in op.value:
            if f == "r":
                out.append(["r", k, list(state[k]) if isinstance(state[k], list) else state[k]])
            elif f == self.write:
                state[k] = [*state[k], v] if f == "append" else v
                written.add(k)
                out.append([f, k, v])
            else:
                raise ValueError(f"{self.prefix}: unknown micro-op {f!r}")
        if not written:
            return out
        compare = [{"key": _b64(f"{self.prefix}{k}"), "target": "MOD", "result": "EQUAL", "mod_revision": revision[k]}
                   for k in keys]
        puts = [{"requestPut": {"key": _b64(f"{self.prefix}{k}"), "value": _b64(self._show(state[k]))}}
                for k in keys if k in written]
        if not gw.txn(compare, puts).get("succeeded"):
            raise Refused("conflict: a key changed since the snapshot")
        return out

    def _parse(self, stored: str | None) -> Any:
        if self.write == "w":
            return None if stored is None else int(stored)
        return [] if not stored else [int(x) for x in stored.split(",")]

    def _show(self, value: Any) -> str:
        return ",".join(map(str, value)) if self.write == "append" else str(value)


class EtcdSet:
    prefix = PREFIX + "set/"

    def read_only(self, op: Op) -> bool:
        return op.f == "read"

    def apply(self, gw: Gateway, op: Op) -> Any:
        if op.f == "add":
            gw.put(f"{self.prefix}{op.value}", "")
            return op.value
        if op.f == "read":
            return sorted(int(k[len(self.prefix):]) for k in gw.keys(self.prefix))
        raise ValueError(f"set: unknown f {op.f!r}")
