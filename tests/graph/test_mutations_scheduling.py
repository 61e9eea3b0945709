"""Task and opportunity mutations against the sandbox over HTTP, with their validation errors."""

from __future__ import annotations

from tests.graph.write_harness import data_of, error_of, graph_over_sandbox

SCHEDULE = """
mutation Schedule($job: Int!, $input: TaskInput!, $key: String) {
  scheduleTask(jobNumber: $job, input: $input, idempotencyKey: $key) {
    id startsAt endsAt description assignees { id } job { number status }
  }
}"""
RESCHEDULE = """
mutation Move($id: ID!, $at: DateTime!) {
  rescheduleTask(id: $id, startsAt: $at) { id startsAt endsAt }
}"""
REASSIGN = """
mutation Reassign($id: ID!, $who: [ID!]!) { reassignTask(id: $id, assigneeIds: $who) { assignees { id } } }
"""
DELETE = """mutation Delete($id: ID!) { deleteTask(id: $id) { id description } }"""


def unscheduled_job(store):
    return next(j for j in store.jobs.values() if j.status == "unscheduled" and not j.task_ids)


async def test_schedule_move_reassign_and_delete_a_task():
    async with graph_over_sandbox() as h:
        job = unscheduled_job(h.store)
        a, b = sorted(h.store.employees)[:2]
        task_input = {
            "startsAt": "2026-11-25T13:00:00-05:00",
            "endsAt": "2026-11-25T14:30:00-05:00",
            "description": "Estimate visit",
            "assigneeIds": [str(a)],
        }
        made = data_of(await h.gql(SCHEDULE, {"job": job.number, "input": task_input, "key": "t1"}))
        task = made["scheduleTask"]
        assert task["job"] == {"number": job.number, "status": "scheduled"}
        assert task["assignees"] == [{"id": str(a)}]
        again = data_of(
            await h.gql(SCHEDULE, {"job": job.number, "input": task_input, "key": "t1"})
        )
        assert again["scheduleTask"]["id"] == task["id"] and len(job.task_ids) == 1

        moved = data_of(
            await h.gql(RESCHEDULE, {"id": task["id"], "at": "2026-11-26T09:00:00-05:00"})
        )
        assert moved["rescheduleTask"]["endsAt"] == "2026-11-26T10:30:00-05:00"  # keeps its length
        swapped = data_of(await h.gql(REASSIGN, {"id": task["id"], "who": [str(b)]}))
        assert swapped["reassignTask"]["assignees"] == [{"id": str(b)}]
        gone = data_of(await h.gql(DELETE, {"id": task["id"]}))["deleteTask"]
        assert gone == {"id": task["id"], "description": "Estimate visit"}
        assert job.task_ids == []


async def test_task_input_errors_name_their_paths():
    async with graph_over_sandbox() as h:
        job = unscheduled_job(h.store)
        h.sandbox.reset_requests()
        backwards = {"startsAt": "2026-11-25T13:00:00-05:00", "endsAt": "2026-11-25T12:00:00-05:00"}
        error = error_of(await h.gql(SCHEDULE, {"job": job.number, "input": backwards}))
        assert error["extensions"]["invalidFields"][0]["path"] == ["input", "endsAt"]
        naive = error_of(await h.gql(RESCHEDULE, {"id": "1", "at": "2026-11-26T09:00:00"}))
        assert naive["extensions"]["invalidFields"][0]["path"] == ["startsAt"]
        bad_id = error_of(await h.gql(REASSIGN, {"id": "1", "who": ["7", "me"]}))
        assert bad_id["extensions"]["invalidFields"][0]["path"] == ["assigneeIds", 1]
        assert h.sandbox.requests() == []
        nobody = {"startsAt": "2026-11-25T13:00:00-05:00", "assigneeIds": ["999999"]}
        upstream = error_of(await h.gql(SCHEDULE, {"job": job.number, "input": nobody}))
        assert upstream["extensions"]["invalidFields"][0]["path"] == ["input", "assigneeIds"]


OPPORTUNITY = """
mutation Opp($input: CreateOpportunityInput!, $key: String) {
  createOpportunity(input: $input, idempotencyKey: $key) { id number status description }
}"""
WON = """mutation Won($n: Int!) { markOpportunityWon(number: $n) { number status } }"""
LOST = """mutation Lost($n: Int!) { markOpportunityLost(number: $n) { number status } }"""


async def test_opportunities_are_created_the_kickserv_way_and_marked():
    async with graph_over_sandbox() as h:
        job_type = str(next(iter(h.store.job_types)))
        spec = {"customerNumber": 5, "jobTypeId": job_type, "description": "New roof quote"}
        made = data_of(await h.gql(OPPORTUNITY, {"input": spec, "key": "o1"}))
        opportunity = made["createOpportunity"]
        assert opportunity["status"] == "new"
        assert opportunity["description"] == "New roof quote"
        writes = [(w["method"], w["path"].split("/api/v2/")[1]) for w in h.writes()]
        assert writes == [("POST", "jobs.json"), ("PUT", f"jobs/{opportunity['number']}.json")]
        won = data_of(await h.gql(WON, {"n": opportunity["number"]}))["markOpportunityWon"]
        assert won["status"] == "won"
        lost = data_of(await h.gql(LOST, {"n": opportunity["number"]}))["markOpportunityLost"]
        assert lost["status"] == "lost"
        bad = error_of(await h.gql(OPPORTUNITY, {"input": {**spec, "customerNumber": 0}}))
        assert bad["extensions"]["invalidFields"][0]["path"] == ["input", "customerNumber"]
        unknown = error_of(await h.gql(WON, {"n": 99999}))
        assert unknown["extensions"]["code"] == "NOT_FOUND"
