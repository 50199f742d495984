"""Parts of the backends that need no root: command wrapping, names, SSH host specs, subnet choice,
local commands."""

from __future__ import annotations

import ipaddress

import pytest

from clusters import hostnet
from clusters.ledger import Ledger
from clusters.local import LocalRemote
from clusters.shell import as_user, check_name
from clusters.ssh import SshHost


def test_as_user_wraps_env_and_user_as_argument_lists():
    assert as_user(["ls", "a b"]) == ["ls", "a b"]
    assert as_user(["x"], user="postgres", env={"LD_PRELOAD": "/lib/f.so; rm -rf /"}) == [
        "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
        "env", "LD_PRELOAD=/lib/f.so; rm -rf /", "x"]
    with pytest.raises(ValueError, match="environment variable"):
        as_user(["x"], env={"A=B": "c"})


def test_daemon_names_are_checked():
    assert check_name("web-1.x_y") == "web-1.x_y"
    for bad in ("", "../etc", "a b", "x;y"):
        with pytest.raises(ValueError):
            check_name(bad)


def test_ssh_host_spec():
    assert SshHost.parse("db1") == SshHost("db1", 22, "root")
    assert SshHost.parse("me@db1:2222", sudo=True) == SshHost("db1", 2222, "me", sudo=True)
    assert SshHost.parse("db1", user="ops").user == "ops"
    with pytest.raises(ValueError, match="host"):
        SshHost.parse("db1:port")


def test_pick_subnet_skips_networks_in_use(monkeypatch):
    used = {ipaddress.IPv4Network("10.213.0.0/24"), ipaddress.IPv4Network("10.213.1.128/25"),
            ipaddress.IPv4Network("0.0.0.0/0")}
    monkeypatch.setattr(hostnet, "_networks_in_use", lambda: used)
    assert hostnet.pick_subnet("10.213.0.0/16") == ipaddress.IPv4Network("10.213.2.0/24")
    with pytest.raises(RuntimeError, match="no free"):
        hostnet.pick_subnet("10.213.0.0/24")


def test_local_output_that_is_not_utf8_is_replaced(tmp_path):
    """A server log may hold bytes that are not UTF-8 (seekdb's does); reading it must not raise."""
    ledger = Ledger(directory=tmp_path)
    try:
        assert LocalRemote("n1", "127.0.0.1", ledger).run(["printf", "log \\303(\\n"]).stdout == "log \ufffd(\n"
    finally:
        assert ledger.release_all() == []
