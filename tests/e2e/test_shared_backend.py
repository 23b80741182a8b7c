"""A shared state backend as a team uses it: the real Pulumi CLI logged in to an S3 bucket (moto's S3 server, a
path-style, plain-HTTP endpoint on 127.0.0.1), two working copies taking turns on one stack, and the backend's
lock refusing a concurrent `up`.

The backend URL is gocloud.dev's s3blob form (blob/s3blob/s3blob.go `URLOpener`, aws/aws.go
`V2ConfigFromURLParams`, as the CLI v3.274 builds it with the AWS SDK v2):

    s3://BUCKET?endpoint=http://127.0.0.1:PORT&use_path_style=true&region=us-east-1
        &response_checksum_validation=when_required

`endpoint` needs its scheme with the v2 SDK (a scheme-less one is made https:// by the CLI's
translateLegacyS3Params unless `disableSSL`/`disable_https` says otherwise); without `use_path_style` the SDK
asks for BUCKET.127.0.0.1, which does not resolve; `response_checksum_validation=when_required` keeps the SDK
from warning on every command that moto's answers carry no checksum. The keys come from AWS_* variables.

Each working copy is its own project directory and PULUMI_HOME; what a team shares through git (the stack
file, Pulumi.dev.yaml) is copied between them, everything else goes through the bucket.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import DEV_KEY, EmulatorProcess, stop_process, wait_for
from tests.support.pulumi_cli import PROJECT_NAME, PulumiCli, make_project
from tests.support.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, object_keys, s3_server
from tests.support.stacks import SCENARIO_STACK

BUCKET = "team-pulumi-state"
CANARY = "hf_shared_backend_canary_5e0b9a2c"
PASSPHRASE = "team-shared-passphrase"
STATE_KEY = f".pulumi/stacks/{PROJECT_NAME}/dev.json"
LOCK_DIR = f".pulumi/locks/organization/{PROJECT_NAME}/dev/"  # a diy stack's org is "organization"
SHARED_FILES = ("Pulumi.dev.yaml", "stacks/dev.yaml")  # what the team keeps in git
SDK_CHECKSUM_WARNING = "Response has no supported checksum"
LONG_RUN = ('env: {EMULATOR_RUN_SECONDS: "1"}', 'env: {EMULATOR_RUN_SECONDS: "200"}')  # 10 s at 1/20 time
MORE_REPLICAS = ("replicas: 2", "replicas: 3")


@dataclass
class Backend:
    s3: S3Server
    url: str

    def keys(self, prefix: str = "") -> list[str]:
        return [key for key in object_keys(self.s3.client(), BUCKET) if key.startswith(prefix)]

    def texts(self) -> dict[str, str]:
        client = self.s3.client()
        return {
            key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode(errors="replace")
            for key in self.keys()
        }


@pytest.fixture
def backend() -> Iterator[Backend]:
    with s3_server() as s3:
        s3.client().create_bucket(Bucket=BUCKET)
        url = (
            f"s3://{BUCKET}?endpoint={s3.endpoint}&use_path_style=true&region={REGION}"
            "&response_checksum_validation=when_required"
        )
        yield Backend(s3, url)


def _working_copy(tmp_path: Path, name: str, backend: Backend) -> PulumiCli:
    """A teammate's checkout with its own PULUMI_HOME, logged in with `pulumi login` (no PULUMI_BACKEND_URL:
    the empty value PulumiCli passes is what the CLI takes as unset)."""
    root = tmp_path / name
    make_project(root)
    (root / "stacks").mkdir()
    (root / "stacks" / "dev.yaml").write_text(SCENARIO_STACK)
    cli = PulumiCli(
        root=root,
        backend_url="",
        home=tmp_path / f"{name}-pulumi-home",
        passphrase=PASSPHRASE,
        extra_env={
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": REGION,
        },
    )
    cli.run("login", backend.url)
    return cli


def _first_up(cli: PulumiCli, emulator: EmulatorProcess) -> None:
    cli.run("stack", "init", "dev")
    cli.set_config("gradient:apiUrl", emulator.api_url)
    cli.set_config("gradient:pollIntervalSeconds", "0.02")
    cli.set_config("gradient:apiKey", DEV_KEY, secret=True)
    cli.set_config("hfToken", CANARY, secret=True)
    cli.run("up", "--yes")


def _pull(source: PulumiCli, target: PulumiCli) -> None:
    """What `git pull` brings: the other copy's committed stack file and stack config."""
    for name in SHARED_FILES:
        shutil.copy(source.root / name, target.root / name)


def _edit(cli: PulumiCli, old: str, new: str) -> None:
    path = cli.root / "stacks" / "dev.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _run_number(cli: PulumiCli) -> int:
    experiments = json.loads(cli.run("stack", "output", "experiments", "--json").stdout)
    return int(experiments["train"]["runNumber"])


def _replicas(emulator: EmulatorProcess) -> int:
    with emulator.client() as api:
        [deployment] = api.get("/deployments").json()["items"]
        spec: dict[str, Any] = api.get(f"/deployments/{deployment['id']}").json()["latestSpec"]
    return int(spec["data"]["resources"]["replicas"])


def test_login_to_an_s3_bucket_keeps_the_stack_there_with_no_secret_in_clear(
    backend: Backend, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    emulator.reset()
    alice = _working_copy(tmp_path, "alice", backend)
    whoami = alice.run("whoami", "--verbose").stdout
    assert f"Backend URL: {backend.url}" in whoami
    credentials = json.loads((alice.home / "credentials.json").read_text())
    assert credentials["current"] == backend.url, "`pulumi login` is remembered in this copy's PULUMI_HOME"

    _first_up(alice, emulator)

    keys = backend.keys()
    assert STATE_KEY in keys and ".pulumi/meta.yaml" in keys, keys
    assert not backend.keys(LOCK_DIR), "the update's lock is released"
    assert not list((tmp_path / "alice-pulumi-home").rglob("dev.json")), "no state kept locally"
    [listed] = json.loads(alice.run("stack", "ls", "--json").stdout)
    assert listed["name"] == "dev" and listed["resourceCount"] == 7  # the stack, 5 resources, the provider
    state = json.loads(backend.texts()[STATE_KEY])
    types = sorted(r["type"].rsplit(":", 1)[-1] for r in state["checkpoint"]["latest"]["resources"])
    assert types.count("Deployment") == 1 and types.count("Experiment") == 1 and types.count("Project") == 2

    for key, text in backend.texts().items():
        for secret in (CANARY, DEV_KEY, PASSPHRASE):
            assert secret not in text, f"{secret!r} in clear in s3://{BUCKET}/{key}"
    for text in alice.transcript:
        assert CANARY not in text and DEV_KEY not in text
        assert SDK_CHECKSUM_WARNING not in text
    assert "ciphertext" in backend.texts()[STATE_KEY]


def _two_copies(backend: Backend, emulator: EmulatorProcess, tmp_path: Path) -> tuple[PulumiCli, PulumiCli]:
    """Alice made the stack and its first `up`; Bob pulled her files and selected it."""
    emulator.reset()
    alice = _working_copy(tmp_path, "alice", backend)
    _first_up(alice, emulator)
    bob = _working_copy(tmp_path, "bob", backend)
    _pull(alice, bob)
    bob.run("stack", "select", "dev")
    return alice, bob


def test_two_working_copies_take_turns_on_one_stack(
    backend: Backend, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    alice, bob = _two_copies(backend, emulator, tmp_path)
    bob.run("preview", "--expect-no-changes")  # the state in the bucket is what Bob's checkout declares

    _edit(bob, *MORE_REPLICAS)
    bob.run("up", "--yes")
    assert _replicas(emulator) == 3

    # Alice has not pulled: the shared state is Bob's, so her stale file would scale the deployment back.
    stale = alice.run("preview", "--expect-no-changes", check=False)
    assert stale.returncode != 0, stale.stdout
    assert "no changes were expected for preview but changes were proposed" in stale.stderr
    assert "gradient:Deployment api update [diff: ~replicas]" in stale.stdout, stale.stdout

    _pull(bob, alice)
    alice.run("preview", "--expect-no-changes")
    assert _replicas(emulator) == 3
    for text in (*alice.transcript, *bob.transcript, *backend.texts().values()):
        assert CANARY not in text and DEV_KEY not in text


def test_the_lock_refuses_a_concurrent_up_until_the_first_one_ends(
    backend: Backend, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    alice, bob = _two_copies(backend, emulator, tmp_path)
    assert _run_number(alice) == 1

    # Alice starts a new training run that takes 10 s; Bob, meanwhile, wants more replicas.
    _edit(alice, *LONG_RUN)
    _edit(bob, *MORE_REPLICAS)
    started = time.monotonic()
    first = alice.popen("up", "--yes", "--skip-preview")
    try:

        def locked() -> list[str]:
            if first.poll() is not None:  # it ended before it was seen holding the lock
                raise AssertionError(f"Alice's up ended early:\n{first.communicate()[0]}")
            return backend.keys(LOCK_DIR)

        [lock] = wait_for(locked, timeout=30)
        holder = json.loads(backend.texts()[lock])
        assert holder["pid"] == first.pid

        refused = bob.run("up", "--yes", check=False, timeout=60)
        output = refused.stdout + refused.stderr
        assert first.poll() is None, "Alice's update was still running when Bob's was refused"
        assert refused.returncode != 0
        assert "the stack is currently locked by 1 lock(s)" in output, output
        assert "Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`" in output
        assert f"/{lock}" in output and f"(pid {first.pid})" in output, output

        alice_output, _ = first.communicate(timeout=120)
    finally:
        stop_process(first)
    alice.transcript.append(alice_output)
    assert first.returncode == 0, alice_output
    assert time.monotonic() - started >= 10, "the run lasted 200 s of emulator time"
    assert not backend.keys(LOCK_DIR), "Alice's lock is released when her update ends"
    assert _replicas(emulator) == 2, "the refused update changed nothing"
    assert _run_number(alice) == 2

    # Bob pulls Alice's change (his own edit kept, as a rebase keeps it) and now his update goes through.
    shutil.copy(alice.root / "Pulumi.dev.yaml", bob.root / "Pulumi.dev.yaml")
    _edit(bob, *LONG_RUN)
    bob.run("up", "--yes")
    assert _replicas(emulator) == 3
    assert _run_number(bob) == 2, "Alice's training run stays the current one"
    _pull(bob, alice)
    alice.run("preview", "--expect-no-changes")
    for text in (*alice.transcript, *bob.transcript, *backend.texts().values()):
        assert CANARY not in text and DEV_KEY not in text
