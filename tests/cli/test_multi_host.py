#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The guide's recipe across machines, run as docs/GUIDE.md writes it: GNU parallel sends each
shard over ssh (--sshloginfile, --transferfile, --return, --cleanup) to an sshd of this test's
own on 127.0.0.1, `bnorm stats --partial` measures it there, and `bnorm merge` combines the
returned partial files here.  The merged file must be the same bytes as merging partial files
made locally, and NumPy's statistics of the whole batch.

sshd (Debian's openssh-server) runs from a temporary folder with its own configuration, host
key and authorized key, on a free port, as the current user; it is stopped at the end, also
when the test fails.  Without sshd the test is skipped, except under CI (CI=true), where the
test command installs it and a skip would hide the recipe going untested."""
import getpass
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import numpy as np

from cli_support import BNORM, SOURCE_DIR

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, which needs an absolute path
HOSTS = ["bnorm-host-a", "bnorm-host-b"]  # two ssh names for the one sshd
SIZES = [4, 7, 1, 6, 5, 3]  # the shards' batch sizes: different on purpose
RECIPE_TIMEOUT = 180


def recipe_block():
    """The first ```sh block of docs/GUIDE.md's "Across machines" section."""
    text = (SOURCE_DIR / "docs" / "GUIDE.md").read_text()
    section = re.search(r"^## Across machines\n(.*?)(?=^#{1,2} )", text, re.S | re.M)
    if section is None:
        raise AssertionError('docs/GUIDE.md has no "## Across machines" section')
    block = re.search(r"^```sh\n(.*?)^```$", section.group(1), re.S | re.M)
    if block is None:
        raise AssertionError('docs/GUIDE.md\'s "Across machines" section has no ```sh block')
    return block.group(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_group(argv, timeout, **kwargs):
    """subprocess.run in a session of its own, so that a timeout ends every process the
    command started (parallel, ssh, rsync), not only the first."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"{argv[:3]} did not end in {timeout} s\nstdout: {out}\nstderr: {err}")
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


class Sshd:
    """An sshd listening on 127.0.0.1 that lets the current user in with one key."""

    def __init__(self, folder):
        self.folder = folder
        self.process = None
        self.log = folder / "sshd.log"
        self.user = getpass.getuser()
        for name in ["host_key", "client_key"]:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                            str(folder / name)], check=True, timeout=30)
        shutil.copy(folder / "client_key.pub", folder / "authorized_keys")

    def start(self, remote_path):
        """Starts sshd on a free port (another try on a port taken in between); the reason it
        could not start otherwise."""
        if os.geteuid() == 0:  # root's sshd checks its privilege-separation folder
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        reason = ""
        for _ in range(3):
            self.port = free_port()
            config = self.folder / "sshd_config"
            config.write_text("\n".join([
                f"ListenAddress 127.0.0.1:{self.port}",
                f"HostKey {self.folder / 'host_key'}",
                f"PidFile {self.folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
                f"AllowUsers {self.user}",
                "PubkeyAuthentication yes", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "PermitRootLogin prohibit-password", "PrintMotd no", "MaxStartups 64",
                # The remote side finds the bnorm under test first, as a host would its own.
                f"SetEnv PATH={remote_path}", ""]))
            self.log.unlink(missing_ok=True)
            self.process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(self.log)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return ""
                except OSError:
                    time.sleep(0.05)
            reason = self.log.read_text() if self.log.exists() else "no log"
            self.stop()
        return reason.strip()

    def stop(self):
        if self.process is None:
            return
        # The session holds the listener and any connection's child still alive.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.process = None

    def client_config(self):
        """An ssh configuration naming HOSTS, each this sshd, with its key and known host key."""
        host_key = (self.folder / "host_key.pub").read_text().split()
        (self.folder / "known_hosts").write_text(
            f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        path = self.folder / "ssh_config"
        path.write_text("\n".join([
            f"Host {' '.join(HOSTS)}",
            "  HostName 127.0.0.1", f"  Port {self.port}", f"  User {self.user}",
            f"  IdentityFile {self.folder / 'client_key'}", "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {self.folder / 'known_hosts'}",
            "  StrictHostKeyChecking yes", "  BatchMode yes", "  ConnectTimeout 10",
            "  ServerAliveInterval 5", "  ServerAliveCountMax 3", "  LogLevel ERROR", ""]))
        return path

    def logins(self):
        return len(re.findall(r"Accepted publickey for ", self.log.read_text()))


class AcrossMachines(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-multi-host-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        missing = [tool for tool in [SSHD, "ssh", "ssh-keygen", "parallel", "rsync"]
                   if shutil.which(tool) is None]
        if missing:
            self.skip_or_fail(f"needs {', '.join(missing)} (openssh-server, parallel, rsync)")
        (self.dir / "sshd").mkdir(mode=0o700)
        self.sshd = Sshd(self.dir / "sshd")
        self.addCleanup(self.sshd.stop)  # runs before the folder goes, also on failure
        bnorm_dir = pathlib.Path(BNORM).resolve().parent
        reason = self.sshd.start(f"{bnorm_dir}:/usr/local/bin:/usr/bin:/bin")
        if reason:
            self.skip_or_fail(f"sshd could not start: {reason}")
        self.work = self.dir / "work"
        (self.work / "shards").mkdir(parents=True)
        # parallel's own files (~/.parallel) go to a scratch home; the ssh account is this user's.
        home = self.dir / "home"
        home.mkdir()
        self.env = dict(os.environ, HOME=str(home),
                        PARALLEL_SSH=f"ssh -F {self.sshd.client_config()}",
                        PATH=f"{bnorm_dir}:{os.environ['PATH']}")
        self.env.pop("PARALLEL", None)

    def skip_or_fail(self, reason):
        if os.environ.get("CI") == "true":
            self.fail(f"under CI this test must run: {reason}")
        self.skipTest(reason)

    def shell(self, script, cwd, timeout=60):
        completed = run_group(["bash", "-c", "set -euo pipefail\n" + script], timeout,
                              cwd=cwd, env=self.env)
        self.assertEqual(completed.returncode, 0,
                         f"{script}\nstdout: {completed.stdout}\nstderr: {completed.stderr}"
                         f"\nsshd log: {self.sshd.log.read_text()}")
        return completed

    def test_readme_recipe_over_ssh(self):
        rng = np.random.default_rng(15)
        shards = [rng.normal(-2.0, 5.0, size=(n, 3, 4, 5)).astype(np.float32) for n in SIZES]
        for i, shard in enumerate(shards):
            np.save(self.work / f"shards/{i}.npy", shard)
        (self.work / "hosts.txt").write_text("".join(f"2/{h}\n" for h in HOSTS))
        # The login works before the recipe is blamed for anything.
        probe = self.shell(f"ssh -F {self.sshd.client_config()} {HOSTS[0]} 'command -v bnorm'",
                           self.work)
        self.assertEqual(probe.stdout.strip(), str(pathlib.Path(BNORM).resolve()))

        # parallel's folders of --workdir ... on the "remote" side, which is this machine; its
        # cache (sshlogin/) may appear there whoever runs parallel, and stays.
        remote_tmp = pathlib.Path(os.path.expanduser(f"~{self.sshd.user}")) / ".parallel/tmp"
        workdirs = lambda: {p for p in remote_tmp.glob("*") if p.name != "sshlogin"}
        before = workdirs()
        self.shell(recipe_block(), self.work, timeout=RECIPE_TIMEOUT)

        # Each shard went over ssh: the one probe above and at least one login per job.
        self.assertGreaterEqual(self.sshd.logins(), 1 + len(SIZES))
        # --cleanup and --workdir ... left nothing on the "remote" side.
        self.assertEqual(workdirs() - before, set())
        names = sorted(p.name for p in (self.work / "shards").iterdir())
        self.assertEqual(names, sorted([f"{i}.npy" for i in range(len(SIZES))] +
                                       [f"{i}.partial.json" for i in range(len(SIZES))]))

        # The same map and reduce here, without ssh: the same bytes.
        local = self.dir / "local"
        shutil.copytree(self.work / "shards", local / "shards",
                        ignore=shutil.ignore_patterns("*.json"))
        self.shell('for f in shards/*.npy; do bnorm stats "$f" --partial > "${f%.npy}.partial.json"; '
                   "done\nbnorm merge shards/*.partial.json -o total.json", local)
        for i in range(len(SIZES)):
            self.assertEqual((self.work / f"shards/{i}.partial.json").read_bytes(),
                             (local / f"shards/{i}.partial.json").read_bytes(), i)
        self.assertEqual((self.work / "total.json").read_bytes(),
                         (local / "total.json").read_bytes())

        # And NumPy's statistics of the whole batch, in float64.
        total = json.loads((self.work / "total.json").read_text())
        x = np.concatenate(shards).astype(np.float64)
        self.assertEqual(total["count"], [x.size // 3] * 3)
        np.testing.assert_allclose(total["mean"], x.mean(axis=(0, 2, 3)), rtol=1e-12)
        np.testing.assert_allclose(total["var"], x.var(axis=(0, 2, 3)), rtol=1e-12)
        np.testing.assert_allclose(total["var_unbiased"], x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)
        np.testing.assert_array_equal(total["min"], x.min(axis=(0, 2, 3)))
        np.testing.assert_array_equal(total["max"], x.max(axis=(0, 2, 3)))

    def test_a_failing_host_job_fails_the_recipe(self):
        # A shard bnorm refuses: the recipe stops with parallel's failure, and merge never runs.
        np.save(self.work / "shards/0.npy", np.zeros((2, 3), np.float32))
        (self.work / "shards/1.npy").write_bytes(b"not a tensor")
        (self.work / "hosts.txt").write_text(f"1/{HOSTS[0]}\n")
        completed = run_group(["bash", "-c", "set -euo pipefail\n" + recipe_block()],
                              RECIPE_TIMEOUT, cwd=self.work, env=self.env)
        self.assertNotEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("bnorm: error: shards/1.npy", completed.stderr)
        self.assertFalse((self.work / "total.json").exists())


if __name__ == "__main__":
    unittest.main()
