"""Browser tests: a real uvicorn server on 127.0.0.1 (random free port) and headless Debian Chromium.

Chromium is driven by Playwright for Python with `executable_path=/usr/bin/chromium` (never a
downloaded browser). Its fake camera is fed a `.y4m` video made at test time from scikit-image's
astronaut (a real, public-domain face), so getUserMedia, the preview and the capture run for real.
The tests skip, with the reason, when Chromium or Playwright is missing (`make test` installs both).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.services.registry import store_subscription
from tests.auth_helpers import make_staff

CHROMIUM = Path("/usr/bin/chromium")
# Every run saves its screenshots under build/ (ignored by git); `make screenshots` writes them into
# docs/screenshots/ instead, the copies docs/pos.md shows (so a test run never dirties the work tree).
SCREENSHOTS = Path(
    os.environ.get("SUBREG_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)


def write_y4m(path: Path, *, width: int = 640, height: int = 480, frames: int = 10) -> Path:
    """A short YUV4MPEG2 (4:2:0) video of the astronaut on a grey background, for the fake camera."""
    from PIL import Image

    from tests.fixtures.images import face_image

    face = face_image().resize((height, height), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", (width, height), (128, 128, 128))
    frame.paste(face, ((width - height) // 2, 0))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half, Image.Resampling.BILINEAR).tobytes()
    planes += cr.resize(half, Image.Resampling.BILINEAR).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


@dataclass
class LiveServer:
    url: str
    container: Any

    def staff(self, role: str = "store_staff", pos_code: str | None = "STORE-1") -> tuple[str, str]:
        return make_staff(self.container, role, pos_code)

    def seed(self, record: dict[str, Any], *, images: dict[str, bytes] | None = None) -> None:
        """Store a record through the registry service (as an import would)."""
        c = self.container
        with c.uow() as uow:
            store_subscription(record, uow=uow, vault=c.vault, blobs=c.blobs, as_of=date(2026, 11, 28), actor=None,
                               channel="legacy_import", rule_set=c.rule_set, images=images)  # fmt: skip
            uow.commit()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app under a real uvicorn server on 127.0.0.1, on a free port chosen by the kernel."""
    import uvicorn

    tmp = tmp_path_factory.mktemp("live")
    settings = Settings(env="test", var_dir=tmp / "var", database_url=f"sqlite:///{tmp / 'subreg.db'}")
    init_storage(settings)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # readiness poll (not a timing assumption): the server says when it listens
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app.state.container)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut video the fake camera plays (made here; no binary is committed)."""
    return write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m")


@pytest.fixture(scope="module")
def browser(camera_video: Path) -> Iterator[Any]:
    """Headless Debian Chromium with a fake camera fed by the astronaut video (skips when absent)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (make test installs it as root)")
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is missing")
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera_video}",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) at a tablet's size, with the camera allowed."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 900}, locale="vi-VN")
    context.grant_permissions(["camera"], origin=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    try:
        yield pg
    finally:
        context.close()


def sign_in(page: Any, username: str, password: str, next_path: str = "/pos", *, shot: str | None = None) -> None:
    """Sign in through the /login form, as staff would (`shot`: save a screenshot of the form)."""
    page.goto(f"/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    if shot:
        screenshot(page, shot)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG of the page (build/screenshots/, or $SUBREG_SCREENSHOT_DIR)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
