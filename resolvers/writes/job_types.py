"""Creating a job type (a "service" in Kickserv's web UI): ``POST /job_types.json``. Kickserv
refuses a second job type of the same name, so the name finds one whose POST had an unknown
outcome."""

from __future__ import annotations

from dataclasses import dataclass

from kickserv import JobType
from resolvers.writes import invalidation
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, created_step, raw_of
from resolvers.writes.validation import Checks, GivenFields, upstream_path

COLOR = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class JobTypeFields(GivenFields):
    name: str | None = None
    description: str | None = None
    color: str | None = None  # calendar colour, hex without '#': "000", "1e90ff"


def _check(spec: JobTypeFields) -> JobTypeFields:
    checks = Checks()
    name = checks.text(("input", "name"), spec.name, required=True)
    description = checks.text(("input", "description"), spec.description)
    color = spec.color
    if color is not None and (len(color) not in (3, 6) or not set(color) <= COLOR):
        checks.fail(("input", "color"), "must be 3 or 6 hex digits without '#'")
    checks.done()
    return JobTypeFields(name, description, color)


async def create_job_type(scope: WriteScope, spec: JobTypeFields) -> JobType:
    cleaned = _check(spec)
    name = (cleaned.name or "").lower()

    async def body(saga: Saga) -> JobType:
        job_type = await saga.run(
            created_step(
                "job_type",
                lambda: scope.ks.job_types.create(**cleaned.fields()),
                JobType.from_json,
                lambda: scope.ks.job_types.list(all=True).all(),
                lambda t: t.name.lower() == name,
                field_path=upstream_path(("input",)),
            )
        )
        await invalidation.job_type_created(scope)
        return job_type

    return await scope.run("createJobType", cleaned.fields(), body, raw_of, JobType.from_json)
