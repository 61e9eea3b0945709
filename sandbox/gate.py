"""The ASGI layer in front of every API route: request ids, authentication, rate limit, latency,
injected faults and the request log. Admin routes (/__sandbox/…) only get a request id."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import choices
from sandbox.data import Employee
from sandbox.knobs import FaultRule
from sandbox.log import LoggedRequest
from sandbox.state import SandboxState

API_PATH = re.compile(r"^/([^/]+)/api/v2/")


def basic_token(scope: Scope) -> str | None:
    """The token of `Authorization: Basic base64(token:token)`; username and password must agree."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, encoded = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user if user and user == password else None
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Gate:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state
        self._turns = Turns()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        status = [500]

        logged = [False]
        finish: list[Callable[[], None]] = []  # set once the request is known to be an API call

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
                status[0] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Log before the client can see the end of the response, so whoever reads the
                # log right after an answer always finds that request in it.
                for hook in finish:
                    hook()
            await send(message)

        match = API_PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send_with_id)
            return
        account = match.group(1)
        log = self.state.log
        seq, concurrent = log.arrive()
        arrived, started = datetime.now(UTC), time.perf_counter()
        token = basic_token(scope)
        employee = self.state.authenticate(account, token)

        def record() -> None:
            if logged[0]:
                return
            logged[0] = True
            log.finish(
                LoggedRequest(
                    seq=seq,
                    request_id=request_id,
                    method=scope["method"],
                    path=scope["path"],
                    query=scope["query_string"].decode("latin-1"),
                    status=status[0],
                    account=account,
                    employee_number=employee.number if employee else None,
                    token=choices.token_fingerprint(token) if token else None,
                    time=arrived.isoformat(timespec="milliseconds"),
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    concurrent=concurrent,
                    traceparent=_header(scope, b"traceparent"),
                )
            )

        finish.append(record)
        try:
            await self._serve(scope, receive, send_with_id, token, employee)
        finally:
            record()

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        token: str | None,
        employee: Employee | None,
    ) -> None:
        state, knobs = self.state, self.state.knobs
        if employee is None or token is None:
            body = choices.error_list_body(choices.UNAUTHORIZED_MESSAGE)
            await JSONResponse(body, 401)(scope, receive, send)
            return
        if knobs.rate_limit:
            key = choices.token_fingerprint(token)
            retry = state.rate_limiter.retry_after(key, knobs.rate_limit, knobs.rate_limit_window_s)
            if retry is not None:
                body = choices.error_list_body(choices.RATE_LIMITED_MESSAGE)
                await JSONResponse(body, 429, {"Retry-After": str(retry)})(scope, receive, send)
                return
        delay_ms = knobs.latency_ms + state.dice.random() * knobs.jitter_ms
        answer_at = time.perf_counter() + delay_ms / 1000
        method, path = scope["method"], scope["path"]
        # A write waits out its latency first (it commits after it). A read is answered from what
        # the account holds when it arrives and its answer held until the latency has passed, so
        # the sandbox's own work hides inside the latency (as on a farm of servers) instead of
        # queueing after it behind every concurrent call's.
        read = method in ("GET", "HEAD")
        if read:
            await self._turns.take()
        else:
            await _until(answer_at)  # never time.sleep: other requests keep flowing
        rule = knobs.fault_for(method, path, "before", state.dice.random())
        if rule is None and knobs.error_rate and state.dice.random() < knobs.error_rate:
            rule = FaultRule()
        if rule is not None and rule.action != "timeout":
            await _until(answer_at)
            await self._fail(rule, scope, receive, send)
            return
        if rule is not None:
            gone, kept = await _hang(receive, rule.hang_s)
            if gone:
                return  # the client gave up before anything was written
            receive = _replay(kept, receive)
        scope = {**scope, "state": {**scope.get("state", {}), "employee": employee}}
        after = any(r.matches(method, path, "after") for r in knobs.faults)
        if not after and not read:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []  # the answer is held back until its time, or until we know
        # whether to fail it

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self.app(scope, receive, hold)
        finally:
            await _until(answer_at)
        rule = knobs.fault_for(method, path, "after", state.dice.random()) if after else None
        if rule is not None and rule.action == "timeout":
            gone, _ = await _hang(receive, rule.hang_s)
            if gone:
                return  # committed, and the client never learns it
        elif rule is not None and rule.action == "drop":
            await send(held[0])  # the answer starts, its body never comes
            return
        elif rule is not None:
            await self._fail(rule, scope, receive, send)
            return
        for message in held:
            await send(message)

    async def _fail(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        """An "error" answers the rule's status; a "drop" starts an answer it never finishes."""
        if rule.action == "drop":
            headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            return
        body = choices.error_list_body(choices.SERVER_ERROR_MESSAGE)
        await JSONResponse(body, rule.status)(scope, receive, send)


class Turns:
    """Reads work one per pass of the event loop, in arrival order: calls that came in together
    all arrive (are logged arriving and start their latency) before any of them works, and the
    loop reads new arrivals between one read's work and the next's, so no arrival waits behind
    more than one call's work (a burst of pages would otherwise be read only after all the work
    of the burst before it)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._passing = False

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app served by one loop after another (tests)
            self._loop, self._waiting, self._passing = loop, deque(), False
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        if not self._passing:
            self._passing = True
            loop.call_soon(self._give)
        await turn

    def _give(self) -> None:
        """The next waiting read's turn; the one after it comes on the loop's next pass."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # a cancelled wait gives its turn away
                turn.set_result(None)
                turn.get_loop().call_soon(self._give)
                return
        self._passing = False


async def _until(moment: float) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``moment`` (no sleep once it has)."""
    left = moment - time.perf_counter()
    if left > 0:
        await asyncio.sleep(left)


async def _hang(receive: Receive, seconds: float) -> tuple[bool, list[Message]]:
    """Wait until the client disconnects (True) or `seconds` pass (False); request messages read
    meanwhile are kept so the handler can still read the body."""
    kept: list[Message] = []

    async def until_gone() -> None:
        while (message := await receive())["type"] != "http.disconnect":
            kept.append(message)

    try:
        await asyncio.wait_for(until_gone(), seconds)
    except TimeoutError:
        return False, kept
    return True, kept


def _replay(kept: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return kept.pop(0) if kept else await receive()

    return replayed
