"""Real local runtimes for delivery tests: a routed HTTP server on 127.0.0.1 in a thread.

``FakeRuntime`` answers each ``(method, path)`` with a function of the request, and
records every request. ``a1111`` and ``comfyui`` install the documented endpoints of
those runtimes on it.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lora_desktop.services.runners.png import tiny_png


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Body = bytes | Iterable[bytes]
Reply = tuple[int, dict[str, str], Body]
Route = Callable[[Seen], Reply]


def json_reply(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(value).encode(),
    )


@dataclass
class FakeRuntime:
    """A routed HTTP server; ``routes[(method, path)]`` answers, ``seen`` records."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    """Set at close: anything trickling or hanging ends."""
    arrived: threading.Event = field(default_factory=threading.Event)
    """Set whenever a request arrives (tests wait on it, then clear it)."""

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                owner.seen.append(seen)
                owner.arrived.set()
                route = owner.route_for(self.command, parts.path)
                if route is None:
                    status, headers, body = json_reply({"detail": "Not Found"}, 404)
                else:
                    status, headers, body = route(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: tests read ``seen``."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def route_for(self, method: str, path: str) -> Route | None:
        """The exact route, else one whose path ends with ``*`` and prefixes ``path``."""
        if (method, path) in self.routes:
            return self.routes[(method, path)]
        for (m, p), route in self.routes.items():
            if m == method and p.endswith("*") and path.startswith(p[:-1]):
                return route
        return None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.seen]

    def trickle(self, every: float = 0.5) -> Iterator[bytes]:
        """A body that sends one byte every ``every`` seconds until the server stops."""
        while not self.stop.wait(every):
            yield b" "

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def b64_png(rgb: tuple[int, int, int]) -> str:
    return base64.b64encode(tiny_png(2, 2, rgb)).decode()


def install_a1111(runtime: FakeRuntime, loras: list[str], images: int = 2) -> None:
    """``GET /sdapi/v1/loras`` and ``POST /sdapi/v1/txt2img`` as A1111 answers them."""

    def loras_route(_seen: Seen) -> Reply:
        return json_reply(
            [{"name": n, "alias": n, "path": f"/models/Lora/{n}.safetensors"} for n in loras]
        )

    def txt2img(seen: Seen) -> Reply:
        body = seen.json()
        count = int(body.get("batch_size", 1))
        info = {
            "prompt": body["prompt"],
            "seed": body.get("seed", 1),
            "infotexts": [
                f"{body['prompt']}\nSteps: {body.get('steps', 20)}, Seed: {i}" for i in range(count)
            ],
        }
        return json_reply(
            {
                "images": [b64_png((i * 40 % 256, 0, 0)) for i in range(count)],
                "parameters": body,
                "info": json.dumps(info),
            }
        )

    runtime.routes[("GET", "/sdapi/v1/loras")] = loras_route
    runtime.routes[("POST", "/sdapi/v1/txt2img")] = txt2img


@dataclass
class ComfyState:
    """What the fake ComfyUI holds: queued prompts and their finished history."""

    prompts: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    polls_before_done: int = 1
    polls: int = 0


def install_comfyui(runtime: FakeRuntime, state: ComfyState) -> None:
    """``POST /prompt``, ``GET /queue``, ``GET /history/{id}``, ``GET /view``."""

    def post_prompt(seen: Seen) -> Reply:
        body = seen.json()
        prompt_id = body.get("prompt_id") or "server-chosen"
        state.prompts[prompt_id] = body["prompt"]
        return json_reply({"prompt_id": prompt_id, "number": len(state.prompts), "node_errors": {}})

    def queue(_seen: Seen) -> Reply:
        return json_reply({"queue_running": [], "queue_pending": []})

    def history(seen: Seen) -> Reply:
        prompt_id = seen.path.rsplit("/", 1)[1]
        if prompt_id in state.prompts and prompt_id not in state.history:
            state.polls += 1
            if state.polls > state.polls_before_done:
                state.history[prompt_id] = {
                    "prompt": [1, prompt_id, state.prompts[prompt_id], {}, ["9"]],
                    "outputs": {
                        "9": {
                            "images": [
                                {
                                    "filename": "ComfyUI_00001_.png",
                                    "subfolder": "",
                                    "type": "output",
                                },
                                {"filename": "ComfyUI_temp_1.png", "subfolder": "", "type": "temp"},
                            ]
                        }
                    },
                    "status": {"status_str": "success", "completed": True, "messages": []},
                }
        entry = state.history.get(prompt_id)
        return json_reply({prompt_id: entry} if entry else {})

    def view(seen: Seen) -> Reply:
        return 200, {"Content-Type": "image/png"}, tiny_png(3, 3, (0, 255, 0))

    runtime.routes[("POST", "/prompt")] = post_prompt
    runtime.routes[("GET", "/queue")] = queue
    runtime.routes[("GET", "/view")] = view
    runtime.routes[("GET", "/history/*")] = history


API_WORKFLOW: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 5,
            "steps": 20,
            "cfg": 7,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 512, "height": 512, "batch_size": 1},
    },
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "placeholder", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "bad hands", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}
"""ComfyUI's default text-to-image workflow, exported in API format."""
