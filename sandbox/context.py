"""What a route handler works with: the caller's account and employee, lookups by number or id
that honour the employee's visibility, page requests, payloads and the clock."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox import choices
from sandbox.choices import Personality
from sandbox.data import AccountStore, Customer, Employee, Job, Task
from sandbox.envelopes import PageRequest, page_request
from sandbox.errors import ApiError, invalid, invalid_field, missing
from sandbox.state import SandboxState


class Api:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.state: SandboxState = request.app.state.sandbox
        self.account: str = request.path_params["account"]
        self.store: AccountStore = self.state.store(self.account)
        self.employee: Employee = request.state.employee
        self.choices: Personality = self.state.choices
        self._visible: set[int] | None = None
        self._visible_known = False
        self._write = request.method not in ("GET", "HEAD")
        self._wrote()

    # --- request parts ----------------------------------------------------------------------------

    def path_int(self, name: str) -> int:
        value: int = self.request.path_params[name]
        return value

    def param(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value not in (None, "") else None

    def int_param(self, name: str) -> int | None:
        """An integer query parameter; anything unreadable is a 422 on that parameter."""
        raw = self.param(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise invalid_field(name, "is not a number") from None

    def page(self, *aliases: str, plain_page: bool = True) -> PageRequest:
        """`plain_page=False`: only the aliases name the page (`page` is ignored)."""
        return page_request(self.request, self.state.knobs.max_per_page, aliases, plain_page)

    def unconfirmed_write(self) -> None:
        """A write URL the reference never shows: the strict personality answers the unknown-route
        404 a Kickserv without it would."""
        if not self.choices.unconfirmed_write_routes:
            body = choices.error_list_body(choices.UNKNOWN_ROUTE_MESSAGE)
            raise ApiError(choices.UNKNOWN_ROUTE_STATUS, body)

    async def payload(self) -> dict[str, Any]:
        """The JSON object body; anything else is a 422 on `base`."""
        raw = await self.request.body()
        self._wrote()  # after the last await: no read comes between this and the write itself
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise invalid({"base": ["Request body is not valid JSON"]}) from None
        if not isinstance(data, dict):
            raise invalid({"base": ["Request body must be a JSON object"]})
        return data

    def _wrote(self) -> None:
        """A write changes what listings hold: their indexes are rebuilt on the next read."""
        if self._write:
            self.store.writes += 1

    async def sent_record(self, wrapper: str) -> Any:
        """The record a write sends, wrapped (``{"job": {...}}``) or bare (``{...}``)."""
        body = await self.payload()
        return body.get(wrapper, body)

    def now(self) -> datetime:
        return self.state.clock.now(self.store.tz)

    def today(self) -> date:
        return self.state.clock.today(self.store.tz)

    # --- lookups ----------------------------------------------------------------------------------

    def customer(self, number: int) -> Customer:
        found = self.store.customers_by_number.get(number)
        if found is None:
            raise missing("customer")
        return found

    def named_customer(self, number: Any) -> Customer | None:
        """The customer a create names by the `customer_number` beside its record (a JSON value);
        None when it names none, a 422 on customer_number when it is no customer's number."""
        if number is None:
            return None
        try:
            found = self.store.customers_by_number.get(int(number))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise invalid_field("customer_number", "is invalid")
        return found

    def job(self, number: int) -> Job:
        found = self.store.jobs_by_number.get(number)
        if found is None or not self.can_see(found):
            raise missing("job")
        return found

    def task(self, task_id: int) -> Task:
        found = self.store.tasks.get(task_id)
        if found is None or not self.can_see(self.store.jobs[found.job_id]):
            raise missing("task")
        return found

    # --- visibility -------------------------------------------------------------------------------

    def visible_job_ids(self) -> set[int] | None:
        """None when the employee sees everything; else the jobs with a task assigned to them."""
        if not self._visible_known:
            self._visible_known = True
            if self.employee.limit_access_to_assignments:
                me = self.employee.id
                self._visible = {
                    t.job_id for t in self.store.tasks.values() if me in t.employee_ids
                }
        return self._visible

    def can_see(self, job: Job) -> bool:
        visible = self.visible_job_ids()
        return visible is None or job.id in visible


def ok(body: Any) -> JSONResponse:
    return JSONResponse(body)
