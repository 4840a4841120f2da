"""Talk to the Jupyter server of this pod as the notebook UI does: run a cell, write or read a file.

Usage: python3 jupyter_api.py <server url with base path> cell <kernel name> <code>
       python3 jupyter_api.py <server url with base path> put <JSON object: path -> text>
       python3 jupyter_api.py <server url with base path> get <path>
Prints one JSON object: for a cell {"status": "ok"|"error"|"no-kernel", "stdout", "stderr", "error",
"kernels"}; for a file {"status": "ok", "content"}.

A cell goes the way a user's does: the server's REST API starts a kernel (with the XSRF cookie the
server hands out), the kernel-channel WebSocket carries the execute_request and its replies, and the
kernel is shut down after. So a variable the cell prints is what the kernel process, started by
the running server, really sees. Files go through the contents API, into the server's notebook
directory (the workspace volume). Standard library and websocket-client only.
"""

from __future__ import annotations

import http.cookiejar
import json
import sys
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import websocket

REPLY_TIMEOUT_SECONDS = 60


def _opener() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _call(opener: urllib.request.OpenerDirector, url: str, xsrf: str, method: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"X-XSRFToken": xsrf})
    request.add_header("Content-Type", "application/json")
    with opener.open(request, timeout=REPLY_TIMEOUT_SECONDS) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def _message(code: str, session: str) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": "execute_request",
        "session": session,
        "username": "kfval",
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False}
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}


def _collect(socket: websocket.WebSocket, msg_id: str) -> dict[str, Any]:
    """Outputs of the cell until the kernel is idle again after it."""
    result: dict[str, Any] = {"status": "ok", "stdout": "", "stderr": "", "error": None}
    idle = replied = False
    while not (idle and replied):
        message = json.loads(socket.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message.get("content", {})
        if kind == "stream":
            result[content["name"]] += content["text"]
        elif kind in ("execute_result", "display_data"):
            result["stdout"] += content.get("data", {}).get("text/plain", "") + "\n"
        elif kind == "error":
            result["status"], result["error"] = "error", f"{content.get('ename')}: {content.get('evalue')}"
        elif kind == "execute_reply":
            replied = True
        elif kind == "status" and content.get("execution_state") == "idle":
            idle = True
    return result


def _session(base: str) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar, str]:
    """An opener holding the server's `_xsrf` cookie, and its value for the X-XSRFToken header."""
    opener, jar = _opener()
    opener.open(f"{base}/lab", timeout=REPLY_TIMEOUT_SECONDS).read()
    return opener, jar, next((cookie.value or "" for cookie in jar if cookie.name == "_xsrf"), "")


def put(base: str, files: str) -> dict[str, Any]:
    """Save each file, making its folders first, as a user does with "New Folder" in the file browser."""
    opener, _jar, xsrf = _session(base)
    made: set[str] = set()
    for path, text in json.loads(files).items():
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in made:
                _call(opener, f"{base}/api/contents/{folder}", xsrf, "PUT", {"type": "directory"})
                made.add(folder)
        body = {"type": "file", "format": "text", "content": text}
        _call(opener, f"{base}/api/contents/{path}", xsrf, "PUT", body)
    return {"status": "ok"}


def get(base: str, path: str) -> dict[str, Any]:
    opener, _jar, xsrf = _session(base)
    found = _call(opener, f"{base}/api/contents/{path}?type=file&format=text", xsrf, "GET")
    return {"status": "ok", "content": found["content"]}


def cell(base: str, kernel: str, code: str) -> dict[str, Any]:
    opener, jar, xsrf = _session(base)
    specs = _call(opener, f"{base}/api/kernelspecs", xsrf, "GET")
    names = sorted(specs.get("kernelspecs", {}))
    if kernel not in names:
        return {"status": "no-kernel", "stdout": "", "stderr": "", "error": None, "kernels": names}
    started = _call(opener, f"{base}/api/kernels", xsrf, "POST", {"name": kernel})
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    ws_url = base.replace("http", "ws", 1) + f"/api/kernels/{started['id']}/channels"
    socket = websocket.create_connection(ws_url, timeout=REPLY_TIMEOUT_SECONDS, cookie=cookies)
    try:
        message = _message(code, uuid.uuid4().hex)
        socket.send(json.dumps(message))
        result = _collect(socket, message["header"]["msg_id"])
    finally:
        socket.close()
        _call(opener, f"{base}/api/kernels/{started['id']}", xsrf, "DELETE")
    return {**result, "kernels": names}


if __name__ == "__main__":
    verbs: dict[str, Callable[..., dict[str, Any]]] = {"cell": cell, "put": put, "get": get}
    print(json.dumps(verbs[sys.argv[2]](sys.argv[1].rstrip("/"), *sys.argv[3:])))
