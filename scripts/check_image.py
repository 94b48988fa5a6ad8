"""Run the container image as a deployment does, and check what docs/deploy.md promises of it.

Called by scripts/check-image after it built IMAGE, under scripts/with-postgres (DATABASE_URL
names a throwaway PostgreSQL on a Unix socket, bind-mounted into the container). Every
command runs from the image with buildah (chroot isolation, the host's network), as the
image's own user, in a working container of the image:

1. the image's configuration: user `rolecall` (uid 10001), working folder, port, command;
2. an app host started before the migration step: `/healthz` answers 200 and `/readyz` 503;
3. the migration step (`rolecall db upgrade`): `/readyz` answers 200 without a restart;
4. the admin login page and its stylesheet (the package's templates and static files);
   `rolecall bootstrap`: an IdP creates a user over SCIM and reads it back;
5. `rolecall webhook create` and `rolecall worker`: the user's event reaches a real receiver
   on loopback, signed (Standard Webhooks), its `webhook-id` the event's id;
6. `/metrics` sums every gunicorn worker's requests (the image's PROMETHEUS_MULTIPROC_DIR);
7. SIGTERM stops the app and the worker, each exiting 0 with no error logged.

Exit 1 on the first failed check, with the processes' output.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402
from tests.webhook_receiver import receiving, verify  # noqa: E402

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


class Container:
    """A buildah working container of the image; its commands share the host's network."""

    def __init__(self, image: str, env: dict[str, str], mounts: list[str]):
        name = f"rolecall-check-{uuid.uuid4().hex[:8]}"
        self.name = subprocess.run(
            ["buildah", "from", "--name", name, image], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.options = ["--isolation", "chroot", "--network", "host"]
        self.options += [f"--volume={path}:{path}" for path in mounts]
        self.options += [f"--env={key}={value}" for key, value in env.items()]

    def command(self, *args: str) -> list[str]:
        """The host command that runs args in the container."""
        return ["buildah", "run", *self.options, self.name, "--", *args]

    def run(self, *args: str) -> str:
        """Run args to completion in the container; return its output, or fail with it."""
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def start(self, *args: str) -> servers.Process:
        """Start args in the container, in the background."""
        return servers.Process(self.command(*args))

    @staticmethod
    def stop(process: servers.Process) -> int:
        """SIGTERM the command itself, as a container runtime does; return its exit status.

        buildah runs it under two helpers of its own in one process group; signalling the
        whole group would have the helpers kill the command before it finished stopping.
        """
        os.kill(_command_pid(process.popen.pid), signal.SIGTERM)
        status = process.popen.wait(timeout=60)
        process.stop()  # reaps and closes what is left
        return status

    def remove(self) -> None:
        """Remove the working container."""
        subprocess.run(["buildah", "rm", self.name], check=False, capture_output=True)


def _command_pid(buildah_pid: int) -> int:
    """The first process under buildah's that is not one of buildah's helpers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
        except OSError:  # gone meanwhile
            continue
        parent = int(rest.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(pid))
    queue = list(children.get(buildah_pid, []))
    while queue:
        pid = queue.pop(0)
        if "buildah" not in Path(f"/proc/{pid}/comm").read_text():
            return pid
        queue += children.get(pid, [])
    raise AssertionError(f"no command under buildah's process {buildah_pid}")


def _is_error(line: str) -> bool:
    """Whether a log line (gunicorn's text or Rolecall's JSON) is at level error or above."""
    if re.search(r"\[(ERROR|CRITICAL)\]", line):
        return True
    return bool(re.search(r'"level": "(error|critical)"', line))


def image_config(image: str) -> dict:
    """The image's configuration (user, working folder, ports, command)."""
    inspected = subprocess.run(
        ["podman", "image", "inspect", image], check=True, capture_output=True, text=True
    )
    return json.loads(inspected.stdout)[0]["Config"]


def check(image: str) -> None:
    """Every check of the module docstring, in order."""
    config = image_config(image)
    assert config["User"] == "rolecall", config
    assert config["WorkingDir"] == "/app", config
    assert "8000/tcp" in config["ExposedPorts"], config
    command = list(config["Cmd"])
    assert command[0] == "gunicorn" and "wsgi:app" in command, command
    print(f"image: user {config['User']}, command {' '.join(command)}")

    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = os.environ["DATABASE_URL"]
    socket_folder = re.search(r"host=([^&]+)", database_url).group(1)
    metrics_token = secrets.token_urlsafe(16)
    env = {
        "DATABASE_URL": database_url,
        "ROLECALL_PUBLIC_URL": base,
        "ROLECALL_SECRET_KEY": secrets.token_urlsafe(32),
        "ROLECALL_METRICS_TOKEN": metrics_token,
    }
    # The image's user must reach the database's socket (its folder is the postgres user's).
    os.chmod(socket_folder, 0o711)
    container = Container(image, env, [socket_folder])
    processes: dict[str, servers.Process] = {}
    try:
        uid = container.run("python", "-c", "import os; print(os.getuid())").strip()
        assert uid == "10001", uid
        print(f"runs as uid {uid}")

        # The image's own command, bound to a free loopback port instead of 0.0.0.0:8000.
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
        app = processes["app"] = container.start(*command)
        assert servers.wait_until_serving(f"{base}/healthz", process=app).status_code == 200
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 503
        print("app started before the migration step: /healthz 200, /readyz 503")

        container.run("rolecall", "db", "upgrade")
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        print("rolecall db upgrade: /readyz 200")

        login = requests.get(f"{base}/admin/login", timeout=10)
        stylesheet = requests.get(f"{base}/static/admin.css", timeout=10)
        assert login.status_code == 200 and "<form" in login.text, login.status_code
        assert stylesheet.status_code == 200 and stylesheet.content, stylesheet.status_code
        print("admin views: the login page and its stylesheet (templates and static installed)")

        output = container.run(
            "rolecall", "bootstrap", "--org", "acme", "--directory", "entra", "--provider", "entra"
        )
        scim_base = re.search(r"^SCIM_BASE_URL=(.+)$", output, re.M).group(1)
        token = re.search(r"^SCIM_TOKEN=(.+)$", output, re.M).group(1)
        assert scim_base == f"{base}/scim/v2", scim_base
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}

        with receiving() as receiver:
            output = container.run(
                "rolecall", "webhook", "create", "--org", "acme", "--url", receiver.url,
                "--events", "dsync.user.*",
            )  # fmt: skip
            secret = output.strip().splitlines()[-1].removeprefix("WEBHOOK_SECRET=")
            worker = processes["worker"] = container.start("rolecall", "worker", "--poll", "0.2")
            worker.wait_for_line("worker delivering", timeout=120)

            body = {"schemas": [USER_SCHEMA], "userName": "ada@example.com", "active": True}
            created = requests.post(f"{scim_base}/Users", json=body, headers=headers, timeout=30)
            assert created.status_code == 201, created.text
            user = created.json()
            read = requests.get(f"{scim_base}/Users/{user['id']}", headers=headers, timeout=30)
            assert read.status_code == 200 and read.json()["userName"] == "ada@example.com"
            print(f"SCIM: POST /Users 201, GET /Users/{user['id']} 200")

            receiver.wait_for(lambda r: r.accepted(), timeout=60)
            delivered = receiver.accepted()[0]
            event = verify(secret, delivered)
            assert event["type"] == "dsync.user.created", event
            assert event["data"]["id"] == user["id"], event
            assert delivered.event_id == int(event["id"]), (delivered.headers, event)
            print(f"worker: {event['type']} delivered, signature verified")

        # Four clients at once keep several of the four gunicorn workers busy.
        user_url = f"{scim_base}/Users/{user['id']}"
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda _: requests.get(user_url, headers=headers, timeout=30), range(40))
            )
        assert {r.status_code for r in statuses} == {200}
        metrics = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {metrics_token}"}, timeout=10
        )
        assert metrics.status_code == 200, metrics.status_code
        served = re.search(
            r'^rolecall_http_requests_total\{method="GET",route="/scim/v2/Users/<user_id>",'
            r'status="200"\} (\S+)$',
            metrics.text,
            re.M,
        )
        assert served and float(served.group(1)) == 41, metrics.text[:2000]
        print("/metrics: 41 GET /Users/{id} counted, every worker's")

        for name, process in processes.items():
            started = time.monotonic()
            status = container.stop(process)
            assert status == 0, (status, process.lines[-20:])
            print(f"SIGTERM: the {name} stopped in {time.monotonic() - started:.1f} s, exit 0")
            errors = [line for line in process.lines if _is_error(line)]
            assert not errors, f"the {name} logged errors:\n" + "\n".join(errors)
    except BaseException:
        for process in processes.values():
            process.stop()
            print("\n".join(process.lines[-40:]), file=sys.stderr)
        raise
    finally:
        container.remove()


if __name__ == "__main__":
    check(sys.argv[1])
    print("image checked: every step of docs/deploy.md ran from it")
